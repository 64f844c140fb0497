// Evaluates token ids in llama.cpp through node-llama-cpp and prints JSON on stdout:
//   {"logprobs": [[v0, v1, ...] per position: log-softmax of the next-token logits],
//    "greedy": [ids]: the greedy continuation of the whole input}
// Usage: node eval.mjs <node_modules dir> '<request JSON>'
//   request: {"model": "m.gguf", "adapter": "a.gguf" | null, "ids": [..], "greedy": n}
// The KV cache is F32 and flash attention is off: llama.cpp's default F16 cache, and its CPU flash attention (which
// rounds to F16 inside, whatever the cache type), each move log-probs by about 1e-3, more than the comparisons allow;
// without both an F32 model matches a float64 reference within about 1e-6.
import {createRequire} from "node:module";
import path from "node:path";
import {pathToFileURL} from "node:url";

const [modules, requestJson] = process.argv.slice(2);
const request = JSON.parse(requestJson);
const entry = createRequire(path.join(modules, "noop.js")).resolve("node-llama-cpp");
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(entry).href);

const llama = await getLlama({gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
    logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: request.model});
const contextOptions = {contextSize: 64, batchSize: 64, sequences: 1, flashAttention: false,
    experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"};
if (request.adapter) contextOptions.lora = {adapters: [{filePath: request.adapter, scale: 1}]};
const context = await model.createContext(contextOptions);
const sequence = context.getSequence();
const vocab = model.tokens.size ?? model.fileInsights.tokens?.length;

/** Raw logits Map (token -> logit) as a dense array. */
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

const results = await sequence.controlledEvaluate(request.ids.map(t => [t, {generateNext: {logits: true}}]));
const logprobs = results.map(r => logSoftmax(dense(r.next.logits)));
const greedy = [];
let next = argmax(logprobs[logprobs.length - 1]);
for (let i = 0; i < (request.greedy ?? 0); i++) {
    greedy.push(next);
    if (i + 1 === request.greedy) break;
    const [r] = await sequence.controlledEvaluate([[next, {generateNext: {logits: true}}]]);
    next = argmax(dense(r.next.logits));
}
process.stdout.write(JSON.stringify({logprobs, greedy}) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
