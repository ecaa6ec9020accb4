// Loads Runtime/Plugins/WebGL/GameGenWebSocket.jslib as Emscripten would link it into a WebGL player
// (mergeInto / autoAddDeps / UTF8ToString / _malloc / stringToUTF8; strings live in a stand-in heap)
// and drives one session through its five functions exactly as BrowserWebSocket.cs does: open, poll
// each "frame", send. `ws` stands in for the browser's WebSocket (same onopen/onmessage/onclose API).
//   node harness.js JSLIB URL OPEN_JSON INPUT_JSON...
// prints each polled event as a JSON line: {"event": "o"|"m"|"e"|"c", "text": ...}.
"use strict";
const fs = require("fs");
globalThis.WebSocket = require("ws");

const LibraryManager = { library: {} };
function mergeInto(target, source) { Object.assign(target, source); }
function autoAddDeps(lib, name) { lib[name + "__deps"] = true; }
const heap = new Map();
let nextPointer = 16;
function _malloc(size) { const p = nextPointer; nextPointer += size + 16; heap.set(p, ""); return p; }
function stringToUTF8(text, pointer, max) { heap.set(pointer, text); }
function lengthBytesUTF8(text) { return Buffer.byteLength(text, "utf8"); }
function UTF8ToString(pointer) { return heap.get(pointer); }
function str(text) { const p = _malloc(lengthBytesUTF8(text) + 1); stringToUTF8(text, p); return p; }

const [jslib, url, openJson, ...inputs] = process.argv.slice(2);
eval(fs.readFileSync(jslib, "utf8"));   // direct eval: the library sees the helpers above
const lib = LibraryManager.library;
var GameGenWS = lib.$GameGenWS;         // what Emscripten's $-dependency makes a global of the page

const id = lib.GameGenWS_Open(str(url));
const pending = [JSON.stringify({ open: JSON.parse(openJson) }),
                 ...inputs.map((t, k) => JSON.stringify({ input: { inputId: String(k + 1), ...JSON.parse(t) } })),
                 JSON.stringify({ close: {} })];
let waitingFor = "open";      // then "event" (one input's end) until every input is answered
let answered = 0;

function frame() {
  let p;
  while ((p = lib.GameGenWS_Poll(id)) !== null) {
    const ev = UTF8ToString(p);
    const type = ev[0], text = ev.slice(1);
    console.log(JSON.stringify({ event: type, text }));
    if (type === "o") send();
    else if (type === "m") {
      const m = JSON.parse(text);
      if (m.opened || m.end || (m.error && m.inputId)) send();
    } else if (type === "c") { lib.GameGenWS_Free(id); return; }
  }
  setTimeout(frame, 5);          // the next "frame"
}

function send() {
  const next = pending.shift();
  if (next === undefined) return;
  if (lib.GameGenWS_Send(id, str(next)) !== 0) console.log(JSON.stringify({ event: "send_failed", text: next }));
}

setTimeout(() => { console.log(JSON.stringify({ event: "timeout" })); process.exit(2); }, 20000).unref();
frame();
