package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsWriter;
import dev.ffwd.lora.Lora;
import dev.ffwd.model.Fp32;
import dev.ffwd.model.Pretrained;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A PEFT adapter folded into its base: a full Hugging Face folder in fp32 that loads without PEFT.
 * <ul>
 * <li>A language-model adapter gives the base architecture with merged weights.</li>
 * <li>A causal LM's classification adapter gives the family's {@code *ForSequenceClassification} folder: the merged
 * backbone, the trained head under its HF name ({@code score.weight}), and {@code id2label}/{@code label2id} in
 * config.json. transformers pools such a model at the last real token, as ffwd does, so both predict alike. The
 * base's LM head stays in the file (transformers reports it as unused) so that ffwd, which reads the base
 * architecture, loads the folder too; {@link ClassifierHead#FILE} beside it tells ffwd it is a classifier.</li>
 * <li>An encoder's classification adapter is refused: transformers' {@code BertForSequenceClassification} classifies
 * the [CLS] token through BERT's pooler, while ffwd's head averages the tokens (sentence-transformers' pooling), so a
 * merged folder would predict differently there.</li>
 * </ul>
 */
public final class Merge {
    private Merge() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What was written: the adapted layers folded in, the architecture config.json names, and the head (null for an LM). */
    public record Result(int adaptedLayers, String architecture, ClassifierHead head) {}

    /**
     * Folds {@code adapter} (loaded from {@code adapterDir}, already checked against its base) into {@code base} and
     * writes the folder {@code out} (which must exist). The base model's weights are changed in place.
     */
    public static Result write(Pretrained base, PeftAdapter.Loaded adapter, Path adapterDir, Path out) {
        boolean classifier = adapter.taskType().equals("SEQ_CLS");
        if (classifier && !base.model().config.causal())
            throw new FfwdException(adapterDir + ": a " + base.model().config.modelType() + " classification adapter cannot be merged: "
                    + "transformers' sequence classifier for it pools the [CLS] token through the pooler, ffwd's head averages the "
                    + "tokens, so the merged model would predict differently. Use the adapter unmerged (predict, eval)");
        Lora.load(base.model(), adapter.config(), adapter.tensors()).merge();
        List<RawTensor> tensors = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : base.model().parameters().entrySet())
            try (Fp32 v = Fp32.of(e.getValue())) {  // the merged model is written in fp32, as config.json then says
                tensors.add(RawTensor.ofFloats(e.getKey(), e.getValue().getShape().getShape(), v.array().toFloatArray()));
            }
        try {
            ObjectNode cfg = (ObjectNode) JSON.readTree(base.dir().resolve("config.json").toFile());
            cfg.put("torch_dtype", "float32");
            ClassifierHead head = null;
            if (classifier) {
                String module = Predictor.headModule(adapter);
                RawTensor w = adapter.tensors().get(Lora.PEFT_PREFIX + module + ".weight");
                head = Predictor.headOf(adapterDir, module, (int) w.shape()[0], base);
                for (String part : List.of(".weight", ".bias"))  // the head under its HF module name, without PEFT's prefix
                    if (adapter.tensors().contains(Lora.PEFT_PREFIX + module + part)) {
                        RawTensor t = adapter.tensors().get(Lora.PEFT_PREFIX + module + part);
                        tensors.add(RawTensor.ofFloats(module + part, t.shape(), t.toFloats()));
                    }
                sequenceClassifier(cfg, head);
            }
            SafetensorsWriter.write(out.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            AtomicFiles.writeString(out.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(cfg) + "\n");
            AtomicFiles.write(out.resolve("tokenizer.json"), o -> Files.copy(base.dir().resolve("tokenizer.json"), o));
            if (head != null) head.save(out);
            return new Result(adapter.tensors().names().stream().filter(n -> n.endsWith(".lora_A.weight")).toList().size(),
                    cfg.path("architectures").path(0).asText(base.model().config.modelType()), head);
        } catch (IOException e) {
            throw new FfwdException(out + ": cannot write merged model: " + e.getMessage());
        }
    }

    /** config.json as transformers reads a sequence classifier: its class in {@code architectures} and the label maps. */
    private static void sequenceClassifier(ObjectNode cfg, ClassifierHead head) {
        String causal = cfg.path("architectures").path(0).asText("");
        cfg.putArray("architectures").add(sequenceClassifierClass(causal, cfg.path("model_type").asText("")));
        ObjectNode id2label = cfg.putObject("id2label"), label2id = cfg.putObject("label2id");
        for (int i = 0; i < head.labels().size(); i++) {
            id2label.put(Integer.toString(i), head.labels().get(i));
            label2id.put(head.labels().get(i), i);
        }
        cfg.put("problem_type", "single_label_classification");
    }

    /**
     * transformers' class name for the family's sequence classifier, from its causal-LM class: {@code XForCausalLM}
     * becomes {@code XForSequenceClassification}; GPT-2's {@code GPT2LMHeadModel} becomes {@code GPT2ForSequenceClassification}.
     */
    static String sequenceClassifierClass(String causalClass, String modelType) {
        for (String suffix : List.of("ForCausalLM", "LMHeadModel"))
            if (causalClass.endsWith(suffix)) return causalClass.substring(0, causalClass.length() - suffix.length()) + "ForSequenceClassification";
        throw new FfwdException("config.json: 'architectures' names no causal-LM class (" + (causalClass.isEmpty() ? "none" : causalClass)
                + ") for model_type " + modelType + "; cannot name its sequence classifier");
    }
}
