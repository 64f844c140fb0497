package dev.ffwd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Scoring;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Arrays;

@Command(name = "score", description = "Per-token log-probabilities and mean negative log-likelihood under a causal LM.")
final class ScoreCommand implements Runnable {
    @Mixin ModelOption model;
    @Mixin AdapterOption adapter;

    @ArgGroup(multiplicity = "1")
    PromptInput input;

    @Option(names = "--json", description = "Print JSON: token_ids, token_logprobs (first null), mean_nll.") boolean json;

    @Override
    public void run() {
        try (Pretrained p = Pretrained.load(model.model)) {
            adapter.apply(p);
            long[] ids = input.ids != null ? input.ids : p.tokenizer().encode(input.text);
            if (ids.length < 2)
                throw new IllegalArgumentException("nothing to score: the input is " + ids.length + " token" + (ids.length == 1 ? "" : "s")
                        + ", and the first token of a text has no log-probability; give at least two");
            double[] lp = Scoring.tokenLogprobs(p.model(), ids);
            double nll = Scoring.meanNll(lp);
            if (json) {
                ObjectMapper om = new ObjectMapper();
                ObjectNode o = om.createObjectNode();
                ArrayNode idn = o.putArray("token_ids"), lpn = o.putArray("token_logprobs");
                Arrays.stream(ids).forEach(idn::add);
                for (int t = 0; t < lp.length; t++) if (t == 0) lpn.addNull(); else lpn.add(lp[t]);
                o.put("mean_nll", nll);
                System.out.println(o.toPrettyString());
            } else {
                for (int t = 0; t < ids.length; t++)
                    System.out.printf("%6d  %-16s %s%n", ids[t], p.tokenizer().decode(new long[]{ids[t]}), t == 0 ? "—" : String.format("%.4f", lp[t]));
                System.out.printf("mean NLL %.4f (perplexity %.2f)%n", nll, Math.exp(nll));
            }
        }
    }
}
