// Times greedy decoding in llama.cpp through node-llama-cpp, for `ffwd bench --decode --vs-llamacpp`.
// Usage: node llamacpp-decode.mjs <node_modules dir> <model.gguf> <threads> <kv cache type: F32|F16> <context size>
// Loads the model and one context once (not timed), prints {"ready": true}, then answers each request line on stdin
// with one line on stdout:
//   {"prompt": [ids], "new": n}            -> {"prompt_s": s, "decode_s": s, "tokens": [n ids]}
//   {"prompt": [ids], "new": n, "check": true} -> also "logprobs": [log-softmax of the first generated position]
// What is timed matches ffwd's KV-cache decoding (Scoring.generate): the whole prompt in one batch, giving the first
// token (prompt_s), then n-1 single-token evaluations, each giving the next (decode_s); the last token is never fed.
// Batch 1, greedy, the cache cleared before each request. Flash attention is off, as ffwd has none.
import {createRequire} from "node:module";
import path from "node:path";
import readline from "node:readline";
import {pathToFileURL} from "node:url";

const [modules, modelPath, threadsArg, kvType, contextArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const entry = createRequire(path.join(modules, "package.json")).resolve("node-llama-cpp");
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(entry).href);

// The prebuilt CPU binary only: never a GPU probe, a download or a build. maxThreads 0 makes `threads` the number
// actually used rather than a hint.
const llama = await getLlama({gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
    logLevel: LlamaLogLevel.error, maxThreads: 0});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: Number(contextArg), batchSize: Number(contextArg), sequences: 1,
    flashAttention: false, threads: {ideal: threads, min: threads},
    experimentalKvCacheKeyType: kvType, experimentalKvCacheValueType: kvType});
const sequence = context.getSequence();
const greedy = {token: true, options: {temperature: 0}};

function logSoftmax(logits) {
    const x = new Array(logits.size).fill(-Infinity);
    for (const [t, v] of logits) x[t] = v;
    const max = Math.max(...x);
    const lse = max + Math.log(x.reduce((s, v) => s + Math.exp(v - max), 0));
    return x.map(v => v - lse);
}

async function decode(request) {
    await sequence.clearHistory();
    const last = request.prompt.length - 1;
    const first = request.check ? {...greedy, logits: true} : greedy;
    const t0 = process.hrtime.bigint();
    const prompt = await sequence.controlledEvaluate(request.prompt.map((t, i) => i === last ? [t, {generateNext: first}] : t));
    const t1 = process.hrtime.bigint();
    const tokens = [prompt[last].next.token];
    while (tokens.length < request.new) {
        const [r] = await sequence.controlledEvaluate([[tokens[tokens.length - 1], {generateNext: greedy}]]);
        tokens.push(r.next.token);
    }
    const t2 = process.hrtime.bigint();
    const out = {prompt_s: Number(t1 - t0) / 1e9, decode_s: Number(t2 - t1) / 1e9, tokens};
    if (request.check) out.logprobs = logSoftmax(prompt[last].next.logits);
    return out;
}

process.stdout.write(JSON.stringify({ready: true}) + "\n");
for await (const line of readline.createInterface({input: process.stdin})) {
    if (line.trim() !== "") process.stdout.write(JSON.stringify(await decode(JSON.parse(line))) + "\n");
}
await context.dispose();
await model.dispose();
await llama.dispose();
