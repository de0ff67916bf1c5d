// Reference custom handler for the end-to-end benchmark (examples/load.rs --target node).
//
// Written the way a JavaScript user would port the widely copied "twin update to Time Series
// Insights" sample logic: plain `http`, no npm dependencies, JSON.parse/JSON.stringify all the way.
// Records go back to the Functions host through an Event Hub output binding named `records`.
'use strict';

const http = require('http');

const port = Number(process.env.FUNCTIONS_CUSTOMHANDLER_PORT || 7071);

// The host sends arrays as JSON text (and strings as JSON text of a string): parse until it is
// no longer a string that looks like JSON. Older hosts send plain values; those pass through.
function unwrap(value) {
  while (typeof value === 'string') {
    const text = value.trim();
    if (!(text.startsWith('[') || text.startsWith('{') || text.startsWith('"'))) break;
    value = JSON.parse(text);
  }
  return value;
}

// One twin update (the event body) and its properties -> one flattened record, or null.
function toRecord(body, properties) {
  const update = typeof body === 'string' ? JSON.parse(body) : body;
  const record = { $dtId: properties['cloudEvents:subject'] };
  let changed = 0;
  for (const operation of update.patch || []) {
    if (operation.op !== 'add' && operation.op !== 'replace') continue;
    // "/Front/Temperature" -> "Front.Temperature"
    const name = operation.path.substring(1).split('/').join('.');
    record[name] = operation.value;
    changed += 1;
  }
  return changed > 0 ? record : null;
}

function twinUpdates(request) {
  const events = unwrap(request.Data.events);
  const properties = unwrap(request.Metadata.PropertiesArray);
  const records = [];
  for (let i = 0; i < events.length; i++) {
    const record = toRecord(events[i], properties[i] || {});
    if (record !== null) records.push(JSON.stringify(record));
  }
  return { Outputs: { records }, Logs: [], ReturnValue: null };
}

function reply(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(text);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/') {
    reply(res, 200, {});
    return;
  }
  if (req.method !== 'POST' || req.url !== '/TwinUpdatesEventHub') {
    reply(res, 404, {});
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    try {
      const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      reply(res, 200, twinUpdates(request));
    } catch (error) {
      reply(res, 500, { Logs: [String(error)] });
    }
  });
});

server.listen(port, '127.0.0.1');
