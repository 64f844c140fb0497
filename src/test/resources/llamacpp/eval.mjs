// Evaluates token ids in llama.cpp through node-llama-cpp; prints one JSON object on stdout.
// Usage: node eval.mjs <node_modules dir> <request.json>
//   request: {"jobs": [{"model": "m.gguf", "adapter": "a.gguf" or null, "ids": [..], "greedy": n}
//                      or {"model": "m.gguf", "texts": ["..", ..]}, ...]}
//   output:  {"results": [{"logprobs": [[..] per position: log-softmax of the next-token logits],
//                          "greedy": [n ids: the greedy continuation of the whole input]}
//                         or {"tokens": [[ids of each text, without BOS, special tokens as text]]}, ...]}
// The KV cache is F32 and flash attention is off: llama.cpp's default F16 cache, and its CPU flash attention (which
// rounds to F16 inside, whatever the cache type), each move log-probs by about 1e-3, more than the comparisons allow;
// without both an F32 model matches a float64 reference within about 1e-6.
import {createRequire} from "node:module";
import {readFileSync} from "node:fs";
import path from "node:path";
import {pathToFileURL} from "node:url";

const [modules, requestFile] = process.argv.slice(2);
const request = JSON.parse(readFileSync(requestFile, "utf8"));
const entry = createRequire(path.join(modules, "package.json")).resolve("node-llama-cpp");
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(entry).href);

// The prebuilt CPU binary only: never a GPU probe, a download or a build.
const llama = await getLlama({gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
    logLevel: LlamaLogLevel.error});

/** Raw logits (a Map token -> logit) as a dense array. */
function dense(logits) {
    const out = new Array(logits.size).fill(-Infinity);
    for (const [t, v] of logits) out[t] = v;
    return out;
}

function logSoftmax(x) {
    const max = Math.max(...x);
    const lse = max + Math.log(x.reduce((s, v) => s + Math.exp(v - max), 0));
    return x.map(v => v - lse);
}

function argmax(x) {
    let best = 0;
    for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
    return best;
}

/** llama.cpp's tokenization of each text (the vocabulary alone is loaded). */
async function tokenize(job) {
    const model = await llama.loadModel({modelPath: job.model, vocabOnly: true});
    const tokens = job.texts.map(text => Array.from(model.tokenize(text, false)));
    await model.dispose();
    return {tokens};
}

async function run(job) {
    if (job.texts) return tokenize(job);
    const model = await llama.loadModel({modelPath: job.model});
    // One thread: the tiny test models need no more, and llama.cpp's spinning thread pool on a busy machine took
    // about 0.8 s per evaluation call instead of milliseconds.
    const options = {contextSize: 64, batchSize: 64, sequences: 1, flashAttention: false, threads: 1,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"};
    if (job.adapter) options.lora = {adapters: [{filePath: job.adapter, scale: 1}]};
    const context = await model.createContext(options);
    const sequence = context.getSequence();
    const results = await sequence.controlledEvaluate(job.ids.map(t => [t, {generateNext: {logits: true}}]));
    const logprobs = results.map(r => logSoftmax(dense(r.next.logits)));
    const greedy = [];
    let next = argmax(logprobs[logprobs.length - 1]);
    while (greedy.length < (job.greedy ?? 0)) {
        greedy.push(next);
        if (greedy.length === job.greedy) break;
        const [r] = await sequence.controlledEvaluate([[next, {generateNext: {logits: true}}]]);
        next = argmax(dense(r.next.logits));
    }
    await context.dispose();
    await model.dispose();
    return {logprobs, greedy};
}

const out = [];
for (const job of request.jobs) out.push(await run(job));
process.stdout.write(JSON.stringify({results: out}) + "\n");
await llama.dispose();
