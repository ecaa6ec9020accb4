// Parse and run Yarn Spinner 2 scripts with yarn-bound (bondage.js, Yarn 2.0 spec), as a game would.
// usage: node check.js FILE.yarn [START]   -> one JSON object on stdout; exit 1 on any error.
// Every node is entered once by title (so every node body is parsed), then every path through the
// options from START is played to its end (up to MAX_PATHS paths), so a dangling <<jump>>, an
// unparsable condition or a dialogue that never ends is an error.
const fs = require('fs');
const YarnBound = require('yarn-bound');

const MAX_PATHS = 4000;
const MAX_STEPS = 500;

function play(text, start, choices, seen) {
  const r = new YarnBound({ dialogue: text, startAt: start });
  let res = r.currentResult;
  let i = 0;
  for (let steps = 0; steps < MAX_STEPS; steps++) {
    if (!res) return { end: true };
    if (res.options) {
      for (const o of res.options) seen.options.add(o.text);
      if (i >= choices.length) return { options: res.options.map((o) => o.isAvailable !== false) };
      r.advance(choices[i++]);
    } else {
      if (res.text !== undefined) {
        const who = (res.markup || []).find((m) => m.name === 'character');
        seen.lines.add(JSON.stringify([who ? who.properties.name : '', res.text]));
      }
      if (res.isDialogueEnd) return { end: true };
      r.advance();
    }
    res = r.currentResult;
  }
  throw new Error(`no end after ${MAX_STEPS} steps from ${start} via ${JSON.stringify(choices)}`);
}

function check(file, start) {
  const text = fs.readFileSync(file, 'utf8');
  const seen = { lines: new Set(), options: new Set() };
  const first = (text.match(/^title:\s*(\S+)/m) || [])[1];
  const titles = Object.keys(new YarnBound({ dialogue: text, startAt: start || first }).runner.yarnNodes);
  for (const t of titles) play(text, t, [], seen);            // parse every node
  let paths = 0, ends = 0, truncated = false;
  if (start) {
    const stack = [[]];
    while (stack.length) {
      if (paths >= MAX_PATHS) { truncated = true; break; }
      const prefix = stack.pop();
      const got = play(text, start, prefix, seen);
      if (got.end) { paths++; ends++; continue; }
      const open = got.options.map((ok, k) => (ok ? k : -1)).filter((k) => k >= 0);
      if (!open.length) throw new Error(`no available option after ${JSON.stringify(prefix)}`);
      for (const k of open.reverse()) stack.push(prefix.concat([k]));
    }
  }
  return { titles, paths, ends, truncated, lines: [...seen.lines].map((s) => JSON.parse(s)), options: [...seen.options] };
}

try {
  console.log(JSON.stringify(check(process.argv[2], process.argv[3])));
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
  process.exit(1);
}
