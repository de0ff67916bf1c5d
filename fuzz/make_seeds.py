#!/usr/bin/env python3
"""Writes the fuzz seed corpus, fuzz/seeds/<target>/, from the transform fixtures and from host
requests shaped as tests/support/mod.rs shapes them (both host encodings, base64 bodies,
cardinality one, Event Grid events as objects and as strings).

Run from the repository root: python3 fuzz/make_seeds.py. The output is committed; re-running
rewrites it (file names are content hashes, so unchanged seeds keep their names).
"""

import base64
import glob
import hashlib
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "transform")

# Selector order of fuzz/src/input.rs: type, id, source, subject, time, dataschema, enqueued.
ATTRIBUTES = ["type", "id", "source", "subject", "time", "dataschema"]
FREE = 0xFF  # past every list: a free string follows (length byte, then the bytes)


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def free(text):
    raw = text.encode()[:255]
    return bytes([FREE, len(raw)]) + raw


def event_hub_input(properties, enqueued, body):
    """The transform_event_hub input for one message: selectors, then the body bytes."""
    underscore = any(k.startswith("cloudEvents_") for k in properties)
    prefix = "cloudEvents_" if underscore else "cloudEvents:"
    head = b""
    for name in ATTRIBUTES:
        value = properties.get(prefix + name)
        head += free(value) if isinstance(value, str) else b"\x00"
    head += free(enqueued) if enqueued else b"\x00"
    head += bytes([1 if underscore else 0, 0])  # flags, kinds (0: every kind)
    return head + body


def fixture_body(event):
    if "body" in event:
        return compact(event["body"]).encode()
    if "bodyText" in event:
        return event["bodyText"].encode()
    return base64.b64decode(event["bodyBase64"])


def fixture_cases():
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*.json"))):
        with open(path) as f:
            yield from json.load(f)


# --- host requests, as tests/support/mod.rs builds them -------------------------------------

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
MODEL = "dtmi:com:microsoft:iot:e2e:digital_factory:production_step_grinding;1"


def twin_update(index, twin, patch):
    return {
        "body": compact({"modelId": MODEL, "patch": patch}),
        "properties": {
            "cloudEvents:id": f"evt-{index:05}",
            "cloudEvents:source": "cocoa-works.api.weu.digitaltwins.azure.net",
            "cloudEvents:specversion": "1.0",
            "cloudEvents:type": "Microsoft.DigitalTwins.Twin.Update",
            "cloudEvents:time": f"2026-05-01T12:{(index // 60) % 60:02}:{index % 60:02}.1234567Z",
            "cloudEvents:subject": twin,
            "cloudEvents:traceparent": TRACEPARENT,
        },
    }


def grinding_update(index):
    twin = ["GrindingStep", "FanningRoastingStep", "MouldingStep"][index % 3]
    return twin_update(index, twin, [
        {"op": "replace", "path": "/ChasisTemperature", "value": 200.0 + index % 10},
        {"op": "replace", "path": "/PowerUsage", "value": 70},
    ])


def encode_array(items, quoted):
    return compact(items) if quoted else items


def event_hub_request(events, quoted=True, binary=False, retry=0, context=True):
    bodies = [base64.b64encode(e["body"].encode()).decode() if binary else e["body"] for e in events]
    n = len(events)
    system = [{
        "x-opt-sequence-number": 1000 + i, "x-opt-offset": str(4096 * i),
        "x-opt-enqueued-time": f"2026-05-01T12:00:{i % 60:02}.5+00:00",
        "content-type": "application/json",
        "SequenceNumber": 1000 + i, "Offset": str(4096 * i), "OffsetString": str(4096 * i),
        "PartitionKey": None, "EnqueuedTimeUtc": f"2026-05-01T12:00:{i % 60:02}.5Z",
    } for i in range(n)]
    partition = {"FullyQualifiedNamespace": "twins-ns.servicebus.windows.net", "EventHubName": "twins",
                 "ConsumerGroup": "bridge", "PartitionId": "0", "IsCheckpointingAfterInvocation": True}
    metadata = {"PartitionContext": partition}
    if context:
        metadata["TriggerPartitionContext"] = partition
    metadata["PropertiesArray"] = encode_array([e["properties"] for e in events], quoted)
    metadata["SystemPropertiesArray"] = encode_array(system, quoted)
    metadata["EnqueuedTimeUtcArray"] = encode_array(
        [f"2026-05-01T12:00:{i % 60:02}.5" for i in range(n)], quoted)
    metadata["SequenceNumberArray"] = encode_array([1000 + i for i in range(n)], quoted)
    metadata["OffsetArray"] = encode_array([str(4096 * i) for i in range(n)], quoted)
    metadata["PartitionKeyArray"] = encode_array([None] * n, quoted)
    if retry is not None:
        metadata["RetryContext"] = {"RetryCount": retry, "MaxRetryCount": -1, "Exception": None}
    now = "2026-05-01T12:05:00.1234567Z"
    metadata["sys"] = {"MethodName": "TwinUpdatesEventHub", "UtcNow": compact(now) if quoted else now,
                       "RandGuid": "0f8fad5b-d9cb-469f-a165-70867728950e"}
    return {"Data": {"events": encode_array(bodies, quoted)}, "Metadata": metadata}


def single_event_request(event):
    """Cardinality one: a double-encoded body and singular metadata keys."""
    return {"Data": {"events": compact(event["body"])},
            "Metadata": {"Properties": event["properties"],
                         "SystemProperties": {"x-opt-enqueued-time": "2026-05-01T12:00:00.5+00:00"},
                         "EnqueuedTimeUtc": "2026-05-01T12:00:00",
                         "sys": {"MethodName": "TwinUpdatesEventHub", "UtcNow": "2026-05-01T12:05:00.1234567Z",
                                 "RandGuid": "0f8fad5b-d9cb-469f-a165-70867728950e"}}}


def event_grid_request(event, as_string):
    return {"Data": {"event": compact(event) if as_string else event},
            "Metadata": {"data": event.get("data") if isinstance(event, dict) else None,
                         "sys": {"MethodName": "TwinUpdatesEventGrid", "UtcNow": "2026-05-01T12:05:00.1234567Z",
                                 "RandGuid": "6f9619ff-8b86-d011-b42d-00c04fc964ff"}}}


def event_grid_schema_update(event_id, twin, value):
    return {"id": event_id, "subject": twin, "eventType": "Microsoft.DigitalTwins.Twin.Update",
            "eventTime": "2026-05-01T12:00:00.5Z", "dataVersion": "1.0", "metadataVersion": "1",
            "topic": "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.DigitalTwins/digitalTwinsInstances/cocoa-works",
            "data": {"data": {"modelId": MODEL, "patch": [{"op": "replace", "path": "/Vibration", "value": value}]},
                     "contenttype": "application/json", "traceparent": TRACEPARENT}}


def cloud_events_update(event_id, twin, value):
    return {"specversion": "1.0", "id": event_id, "type": "Microsoft.DigitalTwins.Twin.Update",
            "source": "cocoa-works.api.weu.digitaltwins.azure.net", "subject": twin, "time": "2026-05-01T12:00:01Z",
            "datacontenttype": "application/json",
            "data": {"modelId": MODEL, "patch": [{"op": "replace", "path": "/Vibration", "value": value}]}}


def main():
    if os.path.isdir(SEEDS):
        shutil.rmtree(SEEDS)
    hub_events, grid_events = [], []
    for case in fixture_cases():
        event = case["event"]
        if case["transport"] == "eventhub":
            body = fixture_body(event)
            properties = event.get("properties", {})
            write("transform_event_hub", event_hub_input(properties, event.get("enqueuedTime"), body))
            if not properties:
                write("transform_event_grid", body)
            hub_events.append({"body": body.decode("utf-8", "replace"), "properties": properties})
        else:
            write("transform_event_grid", compact(event))
            grid_events.append(event)

    requests = []
    batch = [grinding_update(i) for i in range(3)]
    requests.append(event_hub_request(batch))
    requests.append(event_hub_request(batch, quoted=False, retry=None, context=False))
    requests.append(event_hub_request(batch[:1], binary=True))
    requests.append(event_hub_request([]))
    requests.append(single_event_request(batch[0]))
    # Every Event Hub fixture, a few per request, so the batch paths see every event shape.
    for start in range(0, len(hub_events), 4):
        requests.append(event_hub_request(hub_events[start:start + 4], quoted=start % 8 == 0))
    misaligned = event_hub_request(batch)
    misaligned["Metadata"]["PropertiesArray"] = compact([batch[0]["properties"]])
    requests.append(misaligned)
    for event in [event_grid_schema_update("eg-1", "GrindingStep", 111.5),
                  cloud_events_update("ce-1", "GrindingStep", 111.5)] + grid_events:
        requests.append(event_grid_request(event, False))
        requests.append(event_grid_request(event, True))
    for request in requests:
        write("envelope", compact(request))
        write("request_end_to_end", compact(request))


if __name__ == "__main__":
    main()
