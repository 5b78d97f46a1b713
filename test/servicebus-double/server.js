// Service Bus AMQP 1.0 test double for the Go tests (see README.md). Node 20 + rhea only.
// Usage: node server.js <port>   (or PORT=<port>); prints "servicebus-double ready <port>".
'use strict';
const crypto = require('crypto');
const rhea = require('rhea');
const rheaMessage = require('rhea/lib/message.js');
const types = rhea.types;

// Keep the raw bytes of every incoming message so properties keep their AMQP types
// (rhea's decoded form would turn an int64 into a JS number).
const decode = rheaMessage.decode;
rheaMessage.decode = function (buffer) {
  const m = decode(buffer);
  Object.defineProperty(m, '__raw', { value: Buffer.from(buffer), enumerable: false });
  return m;
};

const BATCH_FORMAT = 0x80013700;
const LOCK_MS = 60000;
const MAX_MESSAGE_SIZE = 1024 * 1024;
const DLQ = '/$deadletterqueue';
const entities = new Map(); // lower-case name -> entity

function entity(name) {
  const key = name.toLowerCase();
  let e = entities.get(key);
  if (!e) {
    e = { name, seq: 0, all: [], ready: [], senders: new Set() };
    entities.set(key, e);
    const sub = key.match(/^(.*)\/subscriptions\/[^/]+$/);
    if (sub && !key.endsWith(DLQ)) {
      // A subscription starts with everything its topic ever received.
      const topic = entities.get(sub[1]);
      if (topic) for (const m of topic.kept) enqueue(e, m.sections);
    }
  }
  return e;
}

// Split an encoded message into typed sections, dropping header and annotations.
function sectionsOf(raw) {
  const reader = new types.Reader(raw);
  const out = [];
  while (reader.remaining()) {
    const s = reader.read();
    const code = s.descriptor ? Number(s.descriptor.value) : 0;
    if (code >= 0x73) out.push({ code, typed: s });
  }
  return out;
}

function enqueue(e, sections, extra, deliveryCount) {
  const m = {
    sections, seq: ++e.seq, enqueued: Date.now(), deliveryCount: deliveryCount || 0, lock: null, extra: extra || {},
  };
  e.all.push(m);
  e.ready.push(m);
  pump(e);
  return m;
}

function accept(address, raw) {
  const sections = sectionsOf(raw);
  const e = entity(address);
  if (!e.kept) e.kept = [];
  e.kept.push({ sections });
  enqueue(e, sections);
  const prefix = address.toLowerCase() + '/subscriptions/';
  for (const [key, sub] of entities) {
    if (key.startsWith(prefix) && !key.endsWith(DLQ)) enqueue(sub, sections);
  }
}

function encode(m, withLock) {
  const annotations = {
    'x-opt-sequence-number': types.wrap_long(m.seq),
    'x-opt-enqueued-time': types.wrap_timestamp(m.enqueued),
  };
  if (m.lock) annotations['x-opt-locked-until'] = types.wrap_timestamp(m.lockedUntil);
  if (m.extra.source) annotations['x-opt-deadletter-source'] = m.extra.source;
  const head = { delivery_count: m.deliveryCount, message_annotations: annotations };
  if (withLock && m.lock) head.delivery_annotations = { 'x-opt-lock-token': types.wrap_uuid(m.lock) };
  const w = new types.Writer();
  let props = m.extra.appProps;
  let wroteProps = false;
  for (const s of m.sections) {
    if (props && s.code >= 0x74 && !wroteProps) {
      const items = s.code === 0x74 ? s.typed.value.slice() : [];
      for (const k of Object.keys(props)) items.push(types.wrap_string(k), types.wrap_string(props[k]));
      w.write(types.described(types.wrap_ulong(0x74), types.Map32(items)));
      wroteProps = true;
      if (s.code === 0x74) continue;
    }
    w.write(s.typed);
  }
  return Buffer.concat([rheaMessage.encode(head), w.toBuffer()]);
}

// Deliver ready messages to receivers with credit.
function pump(e) {
  for (const sender of e.senders) {
    while (e.ready.length && sender.sendable()) {
      const m = e.ready.shift();
      const peekLock = sender.local.attach.snd_settle_mode !== 1;
      if (peekLock) {
        m.lock = crypto.randomBytes(16);
        m.lockedUntil = Date.now() + LOCK_MS;
      }
      const d = sender.send(encode(m, peekLock), peekLock ? m.lock : undefined, 0);
      if (peekLock) { d.entry = { e, m }; m.holder = sender; }
      else remove(e, m);
    }
    if (sender._draining) sender.set_drained(true);
  }
}

function remove(e, m) {
  e.all = e.all.filter((x) => x !== m);
}

function release(e, m) {
  m.lock = null;
  m.deliveryCount++;
  e.ready.unshift(m);
  e.ready.sort((a, b) => a.seq - b.seq);
  pump(e);
}

const container = rhea.create_container({ id: 'servicebus-double', autoaccept: false });
const replies = new Map(); // reply address -> sender link

function isRpc(address) {
  const a = (address || '').toLowerCase();
  return a === '$cbs' || a.endsWith('/$management');
}

// Echo the peer's source and target addresses (as proper source/target terminus lists).
function echoTermini(link, ra) {
  link.set_source({ address: ra.source ? ra.source.address : undefined });
  link.set_target({ address: ra.target ? ra.target.address : undefined });
}

container.on('sender_open', (ctx) => {
  const s = ctx.sender;
  const ra = s.remote.attach;
  s.local.attach.snd_settle_mode = ra.snd_settle_mode;
  s.local.attach.rcv_settle_mode = ra.rcv_settle_mode;
  s.local.attach.max_message_size = MAX_MESSAGE_SIZE;
  echoTermini(s, ra);
  const address = ra.source && ra.source.address;
  if (isRpc(address)) {
    if (ra.target && ra.target.address) replies.set(ra.target.address, s);
    return;
  }
  const e = entity(address);
  s.entity = e;
  e.senders.add(s);
});

container.on('receiver_open', (ctx) => {
  const r = ctx.receiver;
  const ra = r.remote.attach;
  r.local.attach.snd_settle_mode = ra.snd_settle_mode;
  r.local.attach.rcv_settle_mode = ra.rcv_settle_mode;
  r.local.attach.max_message_size = MAX_MESSAGE_SIZE;
  echoTermini(r, ra);
});

container.on('sendable', (ctx) => { if (ctx.sender.entity) pump(ctx.sender.entity); });
container.on('sender_draining', (ctx) => {
  if (ctx.sender.entity) pump(ctx.sender.entity);
  else ctx.sender.set_drained(true);
});

// Forget the links matching gone; messages they held locked become available again.
function forget(gone) {
  for (const e of entities.values()) {
    for (const s of [...e.senders]) if (gone(s)) e.senders.delete(s);
    for (const m of e.all) if (m.lock && gone(m.holder)) release(e, m);
  }
  for (const [k, v] of replies) if (gone(v)) replies.delete(k);
}
container.on('sender_close', (ctx) => forget((l) => l === ctx.sender));
container.on('session_close', (ctx) => forget((l) => l.session === ctx.session));
container.on('connection_close', (ctx) => forget((l) => l.connection === ctx.connection));
container.on('disconnected', (ctx) => forget((l) => l.connection === ctx.connection));

function settleWith(ctx, fn) {
  const d = ctx.delivery;
  if (d.entry && d.entry.m.lock) fn(d.entry.e, d.entry.m);
  if (d.entry) d.entry = null;
  d.update(true);
}
container.on('accepted', (ctx) => settleWith(ctx, remove));
container.on('released', (ctx) => settleWith(ctx, release));
container.on('modified', (ctx) => settleWith(ctx, release));
container.on('rejected', (ctx) => settleWith(ctx, (e, m) => {
  remove(e, m);
  const err = (ctx.delivery.remote_state && ctx.delivery.remote_state.error) || {};
  const info = err.info || {};
  const reason = info.DeadLetterReason || err.condition || 'rejected';
  const description = info.DeadLetterErrorDescription || err.description || '';
  // The dead letter keeps its delivery count: its first delivery from the DLQ reports it.
  enqueue(entity(e.name + '/$DeadLetterQueue'), m.sections, {
    source: e.name, appProps: { DeadLetterReason: String(reason), DeadLetterErrorDescription: String(description) },
  }, m.deliveryCount);
}));

function reply(ctx, request, status, body) {
  const s = replies.get(request.reply_to);
  if (!s) return;
  const m = {
    correlation_id: request.message_id,
    application_properties: { 'status-code': types.wrap_int(status), 'status-description': status < 300 ? 'OK' : 'not supported by the test double' },
  };
  if (body !== undefined) m.body = body;
  s.send(m);
}

function management(ctx, address, request) {
  const op = (request.application_properties || {}).operation;
  const entityName = address.slice(0, -'/$management'.length);
  const e = entity(entityName);
  const body = request.body || {};
  switch (op) {
    case 'com.microsoft:peek-message': {
      const from = Number(body['from-sequence-number'] || 0);
      const count = Number(body['message-count'] || 1);
      const msgs = e.all.filter((m) => m.seq >= from).sort((a, b) => a.seq - b.seq).slice(0, count);
      if (!msgs.length) return reply(ctx, request, 204);
      return reply(ctx, request, 200, { messages: msgs.map((m) => ({ message: encode(m, false) })) });
    }
    default:
      return reply(ctx, request, 501);
  }
}

// REFUSE_RESEND is a test hook: a message with this subject is refused (amqp:not-allowed) when
// its MessageId was accepted by the entity before, so a test can make a re-send fail.
const REFUSE_RESEND = 'double:refuse-resend';

function refused(address, raw) {
  const m = rheaMessage.decode(raw);
  if (m.subject !== REFUSE_RESEND) return false;
  const e = entity(address);
  e.ids = e.ids || new Set();
  if (e.ids.has(m.message_id)) return true;
  e.ids.add(m.message_id);
  return false;
}

function settleIncoming(ctx, ok, condition) {
  if (ctx.delivery.remote_settled) return;
  if (ok) ctx.delivery.accept();
  else ctx.delivery.reject({ condition: condition || 'amqp:not-allowed', description: 'refused by the test double' });
}

container.on('message', (ctx) => {
  const r = ctx.receiver;
  const address = (r.remote.attach.target && r.remote.attach.target.address) || '';
  if (address.toLowerCase() === '$cbs') return settleIncoming(ctx, true), reply(ctx, ctx.message, 200);
  if (isRpc(address)) return settleIncoming(ctx, true), management(ctx, address, ctx.message);
  const size = ctx.format === BATCH_FORMAT ? ctx.message.length : ctx.message.__raw.length;
  if (size > MAX_MESSAGE_SIZE) return settleIncoming(ctx, false, 'amqp:link:message-size-exceeded');
  const raws = [];
  if (ctx.format === BATCH_FORMAT) {
    for (const s of sectionsOf(ctx.message)) if (s.code === 0x75) raws.push(Buffer.from(s.typed.value));
  } else {
    raws.push(ctx.message.__raw);
  }
  if (raws.some((raw) => refused(address, raw))) return settleIncoming(ctx, false);
  for (const raw of raws) accept(address, raw);
  settleIncoming(ctx, true);
});

container.on('error', (err) => console.error('servicebus-double:', err && err.message));

const port = Number(process.argv[2] || process.env.PORT || 5672);
const server = container.listen({ host: '127.0.0.1', port });
server.on('listening', () => console.log('servicebus-double ready ' + server.address().port));
server.on('error', (err) => { console.error('servicebus-double: ' + err.message); process.exit(1); });
process.on('SIGTERM', () => process.exit(0));
