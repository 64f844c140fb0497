#!/usr/bin/env node
// Convert the raw downloads cached by scripts/fetch-data.sh into JSONL files.
//
// Usage: node scripts/convert-data.mjs RAW_DIR OUT_DIR
//
// Output order is deterministic (source order, no shuffling); exact duplicate
// texts within one output file are dropped (first occurrence kept) so that
// seeded train/test splits cannot leak identical examples. See docs/data.md.
import fs from 'node:fs';
import path from 'node:path';

const [RAW, OUT] = process.argv.slice(2);
if (!RAW || !OUT) {
  console.error('usage: convert-data.mjs RAW_DIR OUT_DIR');
  process.exit(2);
}

const MIN_WORDS = 20;
const MAX_WORDS = 200;
const SPAM_MAX_CHARS = 2000;
const CLASS_MIN_PARAGRAPHS = 1000; // sotu-party: keep parties with >= this many
const FORTUNE_MIN_ITEMS = 200; // fortunes: keep categories with >= this many
const ERAS = [[1790, 1860], [1861, 1920], [1921, 1980], [1981, 2021]];

const log = (msg) => console.error(`[convert-data] ${msg}`);
const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));

// ---------------------------------------------------------------- text utils

const normWs = (s) => s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ')
  .replace(/\s+/g, ' ').trim();
const wordCount = (s) => (s.match(/\S+/g) || []).length;

function truncateChars(s, max) {
  if (s.length <= max) return s;
  const cut = s.lastIndexOf(' ', max);
  return s.slice(0, cut > max * 0.8 ? cut : max);
}

// Sentence split: after . ! ? (optionally followed by closing quotes/brackets)
// when the next token starts like a sentence.
function sentences(text) {
  return text.split(/(?<=[.!?]["'”’)\]]*)\s+(?=["'“‘(\[]?[A-Z0-9])/);
}

// Split a whitespace-normalised paragraph into sentence-aligned chunks of at
// most MAX_WORDS words, of roughly equal size; drop chunks under MIN_WORDS.
function chunk(text) {
  const n = wordCount(text);
  let chunks;
  if (n <= MAX_WORDS) {
    chunks = [text];
  } else {
    const target = n / Math.ceil(n / MAX_WORDS);
    const pieces = [];
    for (const s of sentences(text)) {
      const w = s.split(' ');
      // An over-long "sentence" is cut into MAX_WORDS windows.
      for (let i = 0; i < w.length; i += MAX_WORDS) pieces.push(w.slice(i, i + MAX_WORDS));
    }
    chunks = [];
    let cur = [];
    for (const p of pieces) {
      if (cur.length && cur.length + p.length > MAX_WORDS) { chunks.push(cur.join(' ')); cur = []; }
      cur.push(...p);
      if (cur.length >= target) { chunks.push(cur.join(' ')); cur = []; }
    }
    if (cur.length) chunks.push(cur.join(' '));
  }
  return chunks.filter((c) => wordCount(c) >= MIN_WORDS);
}

// ---------------------------------------------------------------- output

const manifest = { generated_by: 'scripts/fetch-data.sh (scripts/convert-data.mjs)', outputs: {} };

function writeJsonl(name, records, meta) {
  const seen = new Set();
  const kept = [];
  for (const r of records) {
    if (!r.text || seen.has(r.text)) continue;
    seen.add(r.text);
    kept.push(r);
  }
  const file = path.join(OUT, name);
  const tmp = `${file}.tmp.${process.pid}`;
  fs.writeFileSync(tmp, kept.map((r) => JSON.stringify(r)).join('\n') + (kept.length ? '\n' : ''));
  fs.renameSync(tmp, file);
  let labels = null;
  if (kept.length && 'label' in kept[0]) {
    labels = {};
    for (const r of kept) labels[r.label] = (labels[r.label] || 0) + 1;
  }
  const words = kept.map((r) => wordCount(r.text));
  manifest.outputs[name] = {
    lines: kept.length,
    labels,
    duplicates_removed: records.length - kept.length,
    mean_words: words.length ? Math.round(words.reduce((a, b) => a + b, 0) / words.length) : 0,
    max_words: words.length ? Math.max(...words) : 0,
    ...meta,
  };
  log(`wrote ${name}: ${kept.length} lines${labels ? ' ' + JSON.stringify(labels) : ''}` +
    (records.length - kept.length ? ` (${records.length - kept.length} duplicates dropped)` : ''));
}

// Source metadata for an npm package unpacked under RAW/<name>-<version>/package.
function npmSource(dirName) {
  const dir = path.join(RAW, dirName, 'package');
  const pkg = readJson(path.join(dir, 'package.json'));
  const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  const lic = readme.match(/## License\s+([^\n]+)/);
  const dataLicense = [];
  if (lic && /Public Domain Dedication/.test(lic[1])) dataLicense.push('ODC-PDDL-1.0 (database)');
  if (lic && /Creative Commons Zero/.test(lic[1])) dataLicense.push('CC0-1.0 (contents)');
  return {
    dir,
    source: {
      registry: 'npm', package: pkg.name, version: pkg.version,
      license: pkg.license, data_license: dataLicense.join(', ') || null,
      license_note: lic ? lic[1].replace(/\]\[[^\]]*\]/g, '').replace(/\[/g, '') : null,
    },
  };
}

// ---------------------------------------------------------------- spam-assassin

function decodeBytes(bytes, charset) {
  try {
    return new TextDecoder((charset || 'utf-8').toLowerCase()).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

// String -> bytes: chars < 256 are taken as bytes, others re-encoded as UTF-8.
function strBytes(s) {
  const out = [];
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (c < 256) out.push(c); else out.push(...Buffer.from(ch, 'utf8'));
  }
  return Uint8Array.from(out);
}

function decodeQP(s, charset) {
  s = s.replace(/=\r?\n/g, '');
  const bytes = strBytes(s.replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
  return decodeBytes(bytes, charset);
}

// RFC 2047 encoded words in headers (=?charset?Q|B?...?=).
function decodeHeader(s) {
  return s.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*/g, (_, cs, enc, data) => {
    if (enc.toUpperCase() === 'B') return decodeBytes(Buffer.from(data, 'base64'), cs);
    return decodeQP(data.replace(/_/g, ' '), cs);
  });
}

// Split a message (or MIME part) into unfolded headers and body.
function splitMessage(raw) {
  const m = raw.match(/\n\s*\n/);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const h = line.match(/^([\w-]+):\s*(.*)$/);
    if (h && !(h[1].toLowerCase() in headers)) headers[h[1].toLowerCase()] = h[2];
  }
  return { headers, body };
}

function htmlToText(html) {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|tr|li|h\d)>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ').replace(/&lt;/gi, '<').replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"').replace(/&apos;|&#39;/gi, "'")
    .replace(/&#(\d+);/g, (_, d) => (Number(d) < 0x110000 ? String.fromCodePoint(Number(d)) : ' '))
    .replace(/&amp;/gi, '&');
}

// Readable text of a MIME entity: text/plain preferred, text/html stripped,
// attachments and other non-text parts dropped.
function entityText(headers, body, depth = 0) {
  const ctype = (headers['content-type'] || 'text/plain').toLowerCase();
  const charset = (ctype.match(/charset="?([\w-]+)/) || [])[1];
  const boundary = (headers['content-type'] || '').match(/boundary="?([^";]+)"?/i);
  if (ctype.startsWith('multipart/') && boundary && depth < 5) {
    const parts = body.split('--' + boundary[1]).slice(1)
      .filter((p) => !p.startsWith('--'))
      .map((p) => splitMessage(p.replace(/^[ \t]*\n/, '')));
    const texts = parts.map((p) => ({
      type: (p.headers['content-type'] || 'text/plain').toLowerCase(),
      text: entityText(p.headers, p.body, depth + 1),
    }));
    if (ctype.startsWith('multipart/alternative')) {
      const plain = texts.find((t) => t.type.startsWith('text/plain') && t.text.trim());
      if (plain) return plain.text;
    }
    return texts.map((t) => t.text).filter((t) => t.trim()).join('\n');
  }
  if (!ctype.startsWith('text/') && !ctype.startsWith('message/')) return '';
  const enc = (headers['content-transfer-encoding'] || '').toLowerCase();
  let text = body;
  if (enc.includes('base64')) text = decodeBytes(Buffer.from(body.replace(/\s+/g, ''), 'base64'), charset);
  else if (enc.includes('quoted-printable')) text = decodeQP(body, charset);
  if (ctype.startsWith('text/html') || /<html|<body|<table|<font|<p>/i.test(text)) text = htmlToText(text);
  return text;
}

function convertSpam() {
  const { dir, source } = npmSource('datasets-spam-assassin-0.2.3');
  // data/data.js requires the per-message JSON files in the package's own order.
  const order = [...fs.readFileSync(path.join(dir, 'data', 'data.js'), 'utf8')
    .matchAll(/require\( '\.\/([^']+\.json)' \)/g)].map((m) => m[1]);
  const records = [];
  for (const rel of order) {
    const msg = readJson(path.join(dir, 'data', rel));
    const { headers, body } = splitMessage(msg.text.replace(/\r\n?/g, '\n'));
    const subject = normWs(decodeHeader(headers.subject || ''));
    const bodyText = normWs(entityText(headers, body));
    const text = truncateChars([subject && `Subject: ${subject}`, bodyText].filter(Boolean).join('\n'), SPAM_MAX_CHARS);
    records.push({ text, label: msg.group.startsWith('spam') ? 'spam' : 'ham' });
  }
  log(`spam-assassin: ${order.length} messages read`);
  writeJsonl('spam-assassin.jsonl', records, {
    description: 'SpamAssassin public corpus: "Subject: ..." line + decoded body text (headers dropped, ' +
      `HTML stripped, whitespace-normalised, <= ${SPAM_MAX_CHARS} chars); label ham|spam`,
    source_items: order.length,
    source,
  });
}

// ---------------------------------------------------------------- sotu

function convertSotu() {
  const { dir, source } = npmSource('datasets-sotu-0.2.3');
  const dataDir = path.join(dir, 'data');
  const files = fs.readdirSync(dataDir).filter((f) => /^\d{4}_.*\.json$/.test(f)).sort();
  const paras = []; // {text, year, party}
  for (const f of files) {
    const d = readJson(path.join(dataDir, f));
    // The addresses carry no paragraph breaks, so chunk whole addresses into
    // sentence-aligned passages. Audience reactions are transcript artefacts.
    const text = normWs(d.text
      .replace(/[—–-]?\s*\((applause|laughter|cheers|boos)[^)]*\)\s*[—–-]?/gi, ' '));
    for (const c of chunk(text)) paras.push({ text: c, year: d.year, party: d.party });
  }
  log(`sotu: ${files.length} addresses, ${paras.length} passages`);
  const base = {
    source_items: files.length,
    source,
  };
  writeJsonl('sotu.jsonl', paras.map((p) => ({ text: p.text })), {
    description: `State of the Union addresses ${paras[0].year}-${paras.at(-1).year}, ` +
      `sentence-aligned passages of ${MIN_WORDS}-${MAX_WORDS} words`,
    ...base,
  });

  const perParty = {};
  for (const p of paras) perParty[p.party] = (perParty[p.party] || 0) + 1;
  const keep = new Set(Object.keys(perParty).filter((k) => perParty[k] >= CLASS_MIN_PARAGRAPHS));
  writeJsonl('sotu-party.jsonl', paras.filter((p) => keep.has(p.party)).map((p) => ({ text: p.text, label: p.party })), {
    description: `sotu passages labelled with the president's party; parties with >= ${CLASS_MIN_PARAGRAPHS} passages`,
    passages_per_party_before_filter: perParty,
    ...base,
  });

  const era = (y) => ERAS.find(([a, b]) => y >= a && y <= b);
  writeJsonl('sotu-decade.jsonl', paras.filter((p) => era(p.year)).map((p) => ({ text: p.text, label: era(p.year).join('-') })), {
    description: 'sotu passages labelled with the era of the address: ' + ERAS.map((e) => e.join('-')).join(', '),
    ...base,
  });
}

// ---------------------------------------------------------------- moby-dick

function convertMobyDick() {
  const { dir, source } = npmSource('datasets-moby-dick-0.2.3');
  const order = [...fs.readFileSync(path.join(dir, 'data', 'data.js'), 'utf8')
    .matchAll(/require\( '\.\/([^']+\.json)' \)/g)].map((m) => m[1])
    .filter((f) => f !== 'contents.json'); // table of contents is not prose
  const records = [];
  for (const rel of order) {
    const d = readJson(path.join(dir, 'data', rel));
    for (const para of d.text.split(/\n\s*\n/)) {
      for (const c of chunk(normWs(para))) records.push({ text: c });
    }
  }
  log(`moby-dick: ${order.length} sections, ${records.length} passages`);
  writeJsonl('moby-dick.jsonl', records, {
    description: `Moby-Dick (etymology, extracts, chapters, epilogue) paragraphs of >= ${MIN_WORDS} words, ` +
      `long paragraphs split at sentence boundaries into <= ${MAX_WORDS}-word chunks`,
    source_items: order.length,
    source,
  });
}

// ---------------------------------------------------------------- fortunes

function convertFortunes() {
  const root = path.join(RAW, 'fortunes');
  const dir = path.join(root, 'root', 'usr', 'share', 'games', 'fortunes');
  const version = fs.readFileSync(path.join(root, 'VERSION'), 'utf8').trim();
  const copyright = fs.readFileSync(path.join(root, 'root', 'usr', 'share', 'doc', 'fortunes', 'copyright'), 'utf8');
  // Category files: plain files without extension (skip .dat indexes and the
  // .u8 symlinks); offensive variants (off/ or *-o) are not used.
  const cats = fs.readdirSync(dir).filter((f) => {
    const st = fs.lstatSync(path.join(dir, f));
    return st.isFile() && !f.includes('.') && !f.endsWith('-o');
  }).sort();
  const perCat = {};
  const records = [];
  for (const cat of cats) {
    const items = fs.readFileSync(path.join(dir, cat), 'utf8')
      .replace(/.\u0008/g, '') // overstrike (bold/underline) sequences
      .split(/^%\s*$/m)
      .map((s) => s.replace(/[ \t]+$/gm, '').replace(/^\n+|\s+$/g, ''))
      .filter((s) => s.trim());
    perCat[cat] = items.length;
    if (items.length >= FORTUNE_MIN_ITEMS) for (const t of items) records.push({ text: t, label: cat });
  }
  log(`fortunes: ${cats.length} categories, ${records.length} fortunes in kept categories`);
  writeJsonl('fortunes.jsonl', records, {
    description: `fortune(6) cookies (original line breaks kept), label = category; categories with >= ${FORTUNE_MIN_ITEMS} items`,
    items_per_category_before_filter: perCat,
    source: {
      registry: 'debian', package: 'fortunes', version,
      license: /falls under the BSD copyright/.test(copyright) ? 'BSD-3-Clause-style (see usr/share/doc/fortunes/copyright)' : null,
    },
  });
}

convertSpam();
convertSotu();
convertMobyDick();
convertFortunes();

const mf = path.join(OUT, 'MANIFEST.json');
fs.writeFileSync(`${mf}.tmp.${process.pid}`, JSON.stringify(manifest, null, 2) + '\n');
fs.renameSync(`${mf}.tmp.${process.pid}`, mf);
log(`wrote MANIFEST.json`);
