package dev.ffwd.bench;

import dev.ffwd.io.DType;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Layout;
import dev.ffwd.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * An up-front estimate of a LoRA training step's peak memory, so that the benchmark refuses a shape that cannot fit
 * before generating gigabytes. Its parts, in bytes:
 * <ul>
 *   <li>frozen: 2-D weights at the storage type's width when 2 bytes (held as F16), else 4; norms and biases at 4;</li>
 *   <li>upcasts: the fp32 copies of 2-byte frozen weights that autograd keeps for backward: every block's without
 *       checkpointing, one block's with it (the block being recomputed);</li>
 *   <li>adapters: LoRA values, gradients and AdamW's two moments, 4 × 4 bytes per parameter;</li>
 *   <li>head: the LM head's fp32 copy (2-byte storage) and a loss chunk's [chunk, vocab] logits, log-probabilities and
 *       probabilities;</li>
 *   <li>activations: what autograd keeps per block, about 4 bytes × B·T·(12·d + 4·ffn) plus 3 attention maps
 *       B·H·T² (scores, probabilities, their gradient); every block's without checkpointing, one block's plus the L + 1
 *       kept block inputs with it;</li>
 *   <li>runtime: {@value #RUNTIME_MB} MB for the JVM, libtorch and allocator slack.</li>
 * </ul>
 * It is an estimate: its use is the order of magnitude, not the last hundred megabytes.
 */
public record MemoryEstimate(long frozen, long upcasts, long adapters, long head, long activations, long runtime) {

    static final long RUNTIME_MB = 1024;

    public long total() {
        return frozen + upcasts + adapters + head + activations + runtime;
    }

    public static MemoryEstimate of(ModelConfig c, DType storage, LoraConfig lora, int batch, int seq, int lossChunk, boolean checkpoint) {
        Layout layout = c.arch().layout(c);
        boolean half = storage == DType.F16 || storage == DType.BF16;
        long frozen = 0;
        for (Layout.Tensor t : layout.tensors()) {
            long n = 1;
            for (long d : t.shape()) n *= d;
            frozen += n * (half && t.shape().length == 2 ? 2 : 4);
        }
        long blockWeights = 0, adapters = 0;
        for (Layout.Module m : layout.linears()) {
            if (m.layer() == 0) blockWeights += m.in() * m.out();
            if (lora.matches(m.name())) adapters += (long) lora.rank() * (m.in() + m.out());
        }
        long blocks = checkpoint ? 1 : c.layers();
        long upcasts = half ? 4 * blockWeights * blocks : 0;
        long head = 0;
        if (c.causal()) {
            long positions = Math.min(lossChunk, (long) batch * (seq - 1));
            head = (half ? 4L * c.vocabSize() * c.hidden() : 0) + 3 * 4L * positions * c.vocabSize();
        }
        long bt = (long) batch * seq;
        long perBlock = 4 * (bt * (12L * c.hidden() + 4L * c.intermediate()) + 3L * batch * c.heads() * seq * seq);
        long activations = perBlock * blocks + (checkpoint ? 4 * bt * c.hidden() * (c.layers() + 1) : 0);
        return new MemoryEstimate(frozen, upcasts, 16 * adapters, head, activations, RUNTIME_MB << 20);
    }

    /**
     * The PyTorch reference's step (bench/pytorch_reference.py): every weight in fp32 (it widens 2-byte files on load),
     * the full [B, T-1, vocab] logits with their softmax and gradient, every block's activations.
     */
    public static MemoryEstimate pytorch(ModelConfig c, LoraConfig lora, int batch, int seq) {
        MemoryEstimate f32 = of(c, DType.F32, lora, batch, seq, batch * seq, false);
        return new MemoryEstimate(f32.frozen, 0, f32.adapters, f32.head, f32.activations, f32.runtime);
    }

    /** "19.8 GB (frozen 16.1, fp32 upcasts 0.9, …)" */
    public String describe() {
        return String.format(Locale.ROOT, "%.1f GB (frozen weights %.1f, their fp32 copies kept for backward %.1f, adapters with "
                        + "gradients and AdamW moments %.1f, LM head and loss chunk %.1f, activations %.1f, runtime %.1f)",
                total() / 1e9, frozen / 1e9, upcasts / 1e9, adapters / 1e9, head / 1e9, activations / 1e9, runtime / 1e9);
    }

    /** This machine's physical memory (MemTotal), in bytes; Long.MAX_VALUE where /proc/meminfo is unavailable. */
    public static long physicalBytes() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo")))
                if (l.startsWith("MemTotal:")) return Long.parseLong(l.replaceAll("\\D", "")) * 1024;
        } catch (IOException | NumberFormatException ignored) {
            // not Linux
        }
        return Long.MAX_VALUE;
    }
}
