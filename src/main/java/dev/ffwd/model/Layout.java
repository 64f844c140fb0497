package dev.ffwd.model;

import java.util.List;

/**
 * A model's weights as its family declares them: every tensor with its name and stored shape, and every linear layer
 * with its role in the block. FLOP counts, benchmark checkpoints, default LoRA targets and PEFT key names derive from
 * this, so the names and shapes are written once, in the family's constructor.
 */
public record Layout(List<Tensor> tensors, List<Module> linears) {

    /** How a benchmark checkpoint initialises a tensor (HF-like: N(0, 0.02) weights, unit norms, zero biases). */
    public enum Init { NORMAL, ONE, ZERO }

    /** Where a linear layer sits in a transformer block; the FLOP counter follows the data flow between roles. */
    public enum Role {
        /** reads the attention input: q, k and v, declared in that order (the FLOP counter relies on it), or one fused projection */ ATTN_IN,
        /** reads the attention output */ ATTN_OUT,
        /** reads the MLP input: up, gate or both fused */ MLP_IN,
        /** reads the MLP's hidden activation */ MLP_OUT
    }

    /** A tensor as stored in the checkpoint. */
    public record Tensor(String name, long[] shape, Init init) {
        public Tensor {
            if (name == null || name.isEmpty()) throw new IllegalArgumentException("tensor name is empty");
            for (long d : shape) if (d <= 0) throw new IllegalArgumentException(name + ": dimension " + d + " is not positive");
            shape = shape.clone();
        }
    }

    /**
     * A linear layer y = x·Wᵀ + b. {@code conv1d}: the file stores W as [in, out] (GPT-2's Conv1D, PEFT's
     * fan_in_fan_out); in memory it is always [out, in].
     */
    public record Module(String name, int layer, Role role, long in, long out, boolean bias, boolean conv1d) {
        public Module {
            if (layer < 0) throw new IllegalArgumentException(name + ": linear layers belong to a block, got layer " + layer);
            if (in <= 0 || out <= 0) throw new IllegalArgumentException(name + ": shape [" + out + ", " + in + "] is not positive");
        }
    }

    public Layout {
        tensors = List.copyOf(tensors);
        linears = List.copyOf(linears);
    }

    /** The linear layers of block {@code layer}, in declaration order. */
    public List<Module> block(int layer) {
        return linears.stream().filter(m -> m.layer == layer).toList();
    }

    /**
     * LoRA target names for the linear layers of block 0 with the given roles: each the shortest suffix of the module
     * path that no other linear layer of the block ends with (PEFT's suffix matching), e.g. "q_proj", or "attn.c_proj"
     * where the MLP has a "c_proj" too.
     */
    public List<String> targets(java.util.Set<Role> roles) {
        List<Module> block = block(0);
        return block.stream().filter(m -> roles.contains(m.role)).map(m -> shortestSuffix(m.name, block)).toList();
    }

    private static String shortestSuffix(String name, List<Module> block) {
        String[] parts = name.split("\\.");
        for (int k = 1; k <= parts.length; k++) {
            String suffix = String.join(".", java.util.Arrays.copyOfRange(parts, parts.length - k, parts.length));
            long hits = block.stream().filter(m -> m.name.equals(suffix) || m.name.endsWith("." + suffix)).count();
            if (hits == 1) return suffix;
        }
        return name;
    }
}
