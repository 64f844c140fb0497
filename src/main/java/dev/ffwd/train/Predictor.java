package dev.ffwd.train;

import ai.djl.ndarray.NDScope;
import dev.ffwd.FfwdException;
import dev.ffwd.data.Batch;
import dev.ffwd.data.Encoder;
import dev.ffwd.data.Example;
import dev.ffwd.data.Format;
import dev.ffwd.data.Jsonl;
import dev.ffwd.data.Record;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.lora.Lora;
import dev.ffwd.model.Arch;
import dev.ffwd.model.Pretrained;
import dev.ffwd.optim.Param;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A base model with a trained PEFT adapter attached, for inference: class probabilities for texts (classification
 * adapters) and metrics on a JSONL file: loss, accuracy and macro-F1 for classification, loss and perplexity for
 * text, instruction and chat data.
 */
public final class Predictor implements AutoCloseable {

    /** One classified record: its line in the input file, the predicted class index and every class's probability. */
    public record Prediction(int line, int label, double[] probabilities) {}

    public final Pretrained pretrained;
    /** The classification head's description, or null for a language model (no adapter, or a CAUSAL_LM one). */
    public final ClassifierHead head;
    private final Classification classifier;
    private final int maxLength, batchSize;

    private Predictor(Pretrained pretrained, ClassifierHead head, Classification classifier, int maxLength, int batchSize) {
        this.pretrained = pretrained;
        this.head = head;
        this.classifier = classifier;
        this.maxLength = maxLength;
        this.batchSize = batchSize;
    }

    /**
     * Loads {@code model} and attaches the adapter in {@code adapter} (null: the base model alone). {@code maxLength}
     * (null: the length the classifier was trained with, else 128) truncates inputs; {@code batchSize} rows go through
     * the model at once.
     */
    public static Predictor load(String model, Path adapter, Integer maxLength, int batchSize, boolean allowOtherBase) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (maxLength != null && maxLength < 2) throw new IllegalArgumentException("max length must be at least 2, got " + maxLength);
        Pretrained p = Pretrained.load(model);
        try {
            ClassifierHead head = null;
            Classification classifier = null;
            if (adapter != null) {
                try (PeftAdapter.Loaded a = PeftAdapter.load(adapter)) {
                    a.requireBase(p.dir(), p.model().config.modelType(), allowOtherBase);
                    Lora.load(p.model(), a.config(), a.tensors());
                    if (a.taskType().equals("SEQ_CLS")) {
                        String module = headModule(a);
                        int classes = (int) a.tensors().get(Lora.PEFT_PREFIX + module + ".weight").shape()[0];
                        classifier = new Classification(p.model(), classes, 0);
                        head = headOf(adapter, module, classes, p);
                        setHead(classifier, a.tensors(), Lora.PEFT_PREFIX, p);
                    }
                }
            } else if ((head = ClassifierHead.load(p.dir())) != null) {  // a merged classifier (Merge): the head is in the model's own weights
                classifier = new Classification(p.model(), head.labels().size(), 0);
                try (TensorStore s = SafetensorsReader.openModelDir(p.dir())) {
                    setHead(classifier, s, "", p);
                }
                headOf(p.dir(), head.module(), head.labels().size(), p);
            }
            int len = maxLength != null ? maxLength : head != null ? head.maxLength() : 128;
            return new Predictor(p, head, classifier, len, batchSize);
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /**
     * Sets the classifier's head from {@code store}, where its tensors are named as the head's parameters with
     * {@code prefix} in place of PEFT's (an adapter: PEFT's own; a merged folder: none).
     */
    private static void setHead(Classification classifier, TensorStore store, String prefix, Pretrained p) {
        for (Param q : classifier.params()) {
            String name = prefix + q.name().substring(Lora.PEFT_PREFIX.length());
            if (!store.contains(name))
                throw new FfwdException(store.source() + ": classifier has no '" + name + "', the head ffwd uses for " + p.model().config.modelType());
            RawTensor t = store.get(name);
            if (!Arrays.equals(t.shape(), q.value().getShape().getShape()))
                throw new FfwdException(store.source() + ": head tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + " but the model needs " + q.value().getShape());
            q.set(t.toFloats());
        }
    }

    /**
     * The head's module: the one in modules_to_save whose weight the adapter holds; when none is listed, PEFT's
     * default, which names every family's head.
     */
    static String headModule(PeftAdapter.Loaded a) {
        List<String> candidates = a.modulesToSave().isEmpty()
                ? Arch.ALL.stream().map(x -> x.classifier.name()).distinct().toList() : a.modulesToSave();
        for (String m : candidates) if (a.tensors().contains(Lora.PEFT_PREFIX + m + ".weight")) return m;
        throw new FfwdException(a.tensors().source() + ": SEQ_CLS adapter holds no head weight (looked for "
                + candidates.stream().map(m -> Lora.PEFT_PREFIX + m + ".weight").toList() + ")");
    }

    /** The adapter's {@link ClassifierHead}, checked against its tensors and the model, or made up from them when absent. */
    static ClassifierHead headOf(Path dir, String module, int classes, Pretrained p) {
        ClassifierHead.Pooling pooling = p.model().config.causal() ? ClassifierHead.Pooling.LAST_TOKEN : ClassifierHead.Pooling.MEAN;
        ClassifierHead h = ClassifierHead.load(dir);
        if (h == null)  // e.g. trained elsewhere: classes are named by index
            return new ClassifierHead(IntStream.range(0, classes).mapToObj(Integer::toString).toList(), pooling, module, 128);
        Path f = dir.resolve(ClassifierHead.FILE);
        if (h.labels().size() != classes)
            throw new FfwdException(f + ": lists " + h.labels().size() + " labels but the head '" + module + "' has " + classes + " classes");
        if (!h.module().equals(module))
            throw new FfwdException(f + ": head module '" + h.module() + "' but the adapter's head is '" + module + "'");
        if (h.pooling() != pooling)
            throw new FfwdException(f + ": pooling '" + h.pooling().name().toLowerCase() + "' but ffwd pools "
                    + p.model().config.modelType() + " by '" + pooling.name().toLowerCase() + "'");
        return h;
    }

    /** Token ids of {@code text} as training saw them (special tokens, truncation to the max length). */
    public long[] encode(String text) {
        return pretrained.tokenizer().encodeMarked(text).truncate(maxLength);
    }

    /** Class probabilities for each text, in order. */
    public List<double[]> classify(List<String> texts) {
        List<Example> ex = new ArrayList<>(texts.size());
        for (String t : texts) {
            long[] ids = encode(t);
            ex.add(new Example(ids, new boolean[ids.length], -1));
        }
        List<double[]> out = new ArrayList<>(texts.size());
        for (float[] lp : requireClassifier().logProbabilities(ex, batchSize)) {
            double[] prob = new double[lp.length];
            for (int c = 0; c < lp.length; c++) prob[c] = Math.exp(lp[c]);
            out.add(prob);
        }
        return out;
    }

    /** Predictions for every record of a JSONL file with a "text" field (other fields, a label too, are ignored). */
    public List<Prediction> predict(Path jsonl) {
        List<Record> records = Jsonl.read(jsonl, Format.TEXT);
        List<double[]> probs = classify(records.stream().map(r -> r.segments().get(0).text()).toList());
        List<Prediction> out = new ArrayList<>(records.size());
        for (int i = 0; i < records.size(); i++) {
            double[] p = probs.get(i);
            int best = 0;
            for (int c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
            out.add(new Prediction(records.get(i).line(), best, p));
        }
        return out;
    }

    /**
     * Metrics on a JSONL file: with a classification adapter, records {"text", "label"} whose labels the adapter knows;
     * otherwise records in {@code format} (text, instruction or chat), scored on their target tokens.
     */
    public Metrics evaluate(Path jsonl, Format format) {
        if (classifier != null) {
            if (format != Format.CLASSIFICATION)
                throw new FfwdException(jsonl + ": the adapter is a classifier; evaluate it on classification data, not " + format.name().toLowerCase());
            List<Example> ex = new ArrayList<>();
            for (Record r : Jsonl.read(jsonl, Format.CLASSIFICATION)) {
                int label = head.labels().indexOf(r.label());
                if (label < 0)
                    throw new FfwdException(jsonl + ":" + r.line() + ": label '" + r.label() + "' is not one the adapter was trained on "
                            + head.labels());
                long[] ids = encode(r.segments().get(0).text());
                ex.add(new Example(ids, new boolean[ids.length], label));
            }
            return classifier.evaluate(ex, batchSize);
        }
        if (format == Format.CLASSIFICATION)
            throw new FfwdException(jsonl + ": classification data needs a classification adapter (task_type SEQ_CLS)");
        if (!pretrained.model().config.causal())
            throw new FfwdException(pretrained.dir() + ": " + pretrained.model().config.modelType() + " is an encoder; it has no language-model loss");
        List<Example> ex = Encoder.encode(Jsonl.read(jsonl, format, pretrained.dir()), pretrained.tokenizer(), maxLength, false, jsonl).examples();
        LanguageModeling lm = new LanguageModeling(pretrained.model());
        double sum = 0, count = 0;
        for (int i = 0; i < ex.size(); i += batchSize) {
            try (NDScope ignored = new NDScope()) {
                Objective.Loss l = lm.loss(Batch.of(ex.subList(i, Math.min(ex.size(), i + batchSize)), pretrained.model().manager()), false);
                sum += l.sum().getFloat();
                count += l.count().getFloat();
            }
        }
        if (count < 1) throw new FfwdException(jsonl + ": no target tokens to score");
        double loss = sum / count;
        return new Metrics.Text(ex.size(), (long) count, loss, Math.exp(loss));
    }

    private Classification requireClassifier() {
        if (classifier == null) throw new FfwdException("the adapter is not a classifier (task_type SEQ_CLS); nothing to predict labels with");
        return classifier;
    }

    @Override
    public void close() {
        pretrained.close();
    }
}
