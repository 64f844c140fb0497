package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.ffwd.FfwdException;
import dev.ffwd.data.Batch;
import dev.ffwd.data.Format;
import dev.ffwd.data.Masking;
import dev.ffwd.io.TextTokenizer;
import dev.ffwd.model.ChunkedCrossEntropy;
import dev.ffwd.model.Fp32;
import dev.ffwd.model.Transformer;

/**
 * Masked language modelling on an encoder, as BERT's pre-training objective: the mean negative log-likelihood of the
 * original token at each masked position ({@link Masking} chose and corrupted them when the data was encoded), given
 * the corrupted sequence. The head is tied to the frozen word embeddings E [V, d]: logits = h·Eᵀ, formed only for the
 * hidden states of the masked positions, which are gathered first, a chunk of positions at a time
 * ({@link ChunkedCrossEntropy}). The encoder's released MLM head (BertForMaskedLM's transform and output bias) is not
 * used; all-MiniLM-L6-v2 ships none. There is no trainable output bias either: the adapters alone carry what is
 * learned, the loss of an adapter is reproducible from the adapter and the base model, and the objective adds no
 * parameter to the optimizer or to Fast Forward's line search (a 30,522-entry bias would mostly learn unigram
 * frequencies, which lowers the loss without telling anything about the adapters).
 */
public record MaskedLanguageModeling(Transformer model, int lossChunk) implements Objective {

    public MaskedLanguageModeling {
        if (model.config.causal())
            throw new IllegalArgumentException(model.config.modelType() + " is a causal LM; masked language modelling is for encoders");
    }

    /** With the default chunk size, {@link TrainConfig.Memory#LOSS_CHUNK}. */
    public MaskedLanguageModeling(Transformer model) {
        this(model, TrainConfig.Memory.LOSS_CHUNK);
    }

    @Override
    public Loss loss(Batch b, boolean training) {
        if (b.tokenLabels() == null)
            throw new IllegalArgumentException("masked language modelling needs masked examples (token labels, see dev.ffwd.data.Masking)");
        NDArray h = model.hidden(b.ids(), b.mask(), training);                        // [B, T, d]
        long n = (long) b.rows() * b.length();
        NDArray at = b.targets().mul(b.mask()).reshape(n).gt(0f).nonzero().squeeze(1); // [M]: the masked positions
        NDArray hm = h.reshape(n, h.getShape().get(2)).get(at);                        // [M, d], a differentiable gather
        NDArray original = b.tokenLabels().reshape(n).get(at);                         // [M]
        long m = original.getShape().get(0);
        NDArray ones = hm.getManager().ones(new Shape(m)), count = hm.getManager().create((float) m);
        try (Fp32 e = model.wordEmbeddings()) {
            if (ChunkedCrossEntropy.recording()) return new Loss(ChunkedCrossEntropy.sum(e, hm, original, ones, lossChunk), count);
            NDArray nll = ChunkedCrossEntropy.perPosition(e, hm, original, ones, lossChunk);                 // [M]
            NDArray row = hm.getManager().arange(0, b.rows(), 1, ai.djl.ndarray.types.DataType.INT64)
                    .expandDims(1).repeat(1, b.length()).reshape(n).get(at);                                  // [M]: each position's example
            NDArray rows = nll.expandDims(0).matMul(row.oneHot(b.rows())).squeeze(0);                        // [B]
            return Loss.ofRows(rows, count, null);
        }
    }

    /**
     * The masking of encoder {@code model}'s data in {@code format}: BERT's, with {@code tok}'s mask token over the model's
     * vocabulary. Only plain text is masked (instruction and chat data need a causal LM); the tokenizer must have a mask token.
     */
    public static Masking masking(Transformer model, TextTokenizer tok, Format format, String name) {
        String what = name + ": " + model.config.modelType() + " is an encoder";
        if (format != Format.TEXT)
            throw new FfwdException(what + "; use --format text (masked language modelling) or classification with it, or a causal LM for "
                    + format.name().toLowerCase());
        long mask = tok.maskId();
        if (mask < 0)
            throw new FfwdException(what + " whose tokenizer has no mask token ([MASK] or <mask>); masked language modelling needs one");
        if (mask >= model.config.vocabSize())
            throw new FfwdException(what + ": its mask token id " + mask + " is outside the model's vocabulary of " + model.config.vocabSize());
        return new Masking(mask, model.config.vocabSize());
    }
}
