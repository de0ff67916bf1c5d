//! The embedded demo: a day of the chocolate factory through the bridge, answered and charted.
