//! `FactorySimulator`: the timer-triggered function that runs one tick of the chocolate factory.

use tracing::{debug, error};

use super::answer::Answer;
use super::request::InvocationRequest;
use crate::tick_delivery::Simulator;

/// The timer function's name (its folder under `functions/`).
pub const SIMULATOR_FUNCTION: &str = "FactorySimulator";

/// Runs one tick at the invocation's time and delivers it.
#[tracing::instrument(name = "FactorySimulator", skip_all, fields(invocation_id = %invocation_id))]
pub async fn factory_simulator(
    simulator: Option<&Simulator>,
    request: &InvocationRequest<'_>,
    invocation_id: &str,
) -> Answer {
    let Some(simulator) = simulator else {
        return Answer::delivered(vec![format!(
            "{SIMULATOR_FUNCTION}: the simulator is not configured in this process"
        )]);
    };
    let Some(delivery) = &simulator.delivery else {
        return Answer::delivered(vec![format!("{SIMULATOR_FUNCTION}: SIMULATOR_MODE is off")]);
    };
    let past_due = request
        .data()
        .get("timer")
        .and_then(super::members::Member::json_value)
        .and_then(|timer| timer.get("IsPastDue").and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    let now = request.now();
    let tick = simulator.factory.tick(now.instant(), true);
    match delivery.deliver(&tick).await {
        Ok(delivered) => {
            let line = format!("{SIMULATOR_FUNCTION}: mode={:?} time={now} updates={delivered} past_due={past_due}", simulator.mode);
            // Logged by the host from the answer; on stdout only when debugging.
            debug!(delivered, past_due, "{line}");
            Answer::delivered(vec![line])
        }
        Err(e) => {
            error!(error = %e, "simulator tick not delivered");
            Answer::downstream_failure(SIMULATOR_FUNCTION, "tick not delivered", &e)
        }
    }
}
