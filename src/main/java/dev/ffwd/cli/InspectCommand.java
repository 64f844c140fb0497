package dev.ffwd.cli;

import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Pretrained;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.Map;
import java.util.TreeMap;

@Command(name = "inspect", description = "Show a model's architecture, parameter count and dtypes.")
final class InspectCommand implements Runnable {
    @Mixin ModelOption model;

    @Override
    public void run() {
        try (Pretrained p = Pretrained.load(model.model); TensorStore s = SafetensorsReader.openModelDir(p.dir())) {
            ModelConfig c = p.model().config;
            Map<String, Integer> dtypes = new TreeMap<>();
            for (String n : s.names()) dtypes.merge(s.get(n).dtype().name(), 1, Integer::sum);
            System.out.printf("model:        %s%n", p.dir());
            System.out.printf("architecture: %s (family %s, %s)%n", c.modelType(), c.arch().name, c.causal() ? "causal LM" : "encoder");
            System.out.printf("layers:       %d, hidden %d, heads %d (kv %d), head dim %d, ffn %d, vocab %d%n",
                    c.layers(), c.hidden(), c.heads(), c.kvHeads(), c.headDim(), c.intermediate(), c.vocabSize());
            System.out.printf("parameters:   %,d%n", p.model().parameterCount());
            System.out.printf("dtypes:       %s (computed in fp32)%n", dtypes);
            System.out.printf("linear layers: %d, e.g. %s%n", p.model().linears().size(), p.model().linears().keySet().iterator().next());
            System.out.printf("LoRA targets: %s by default%n", c.arch().defaultTargets());
        }
    }
}
