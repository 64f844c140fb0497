package dev.ffwd.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A constant factor must survive garbage collection between forward and backward (see {@link Scalars}). */
class ScalarsTest {

    /**
     * Deterministic: the 0-d factor autograd keeps must stay a live array of the operand's manager after the product is
     * formed. DJL's {@code x.mul(Number)} closes its temporary factor at once, which is what lets a later garbage
     * collection free the memory the backward pass still reads.
     */
    @Test
    void theFactorStaysAliveWithTheOperandsManager() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[]{1, 2, 3});
            java.util.Set<NDArray> before = new java.util.HashSet<>(m.getManagedArrays());
            NDArray y = Scalars.scale(x, 0.25);
            List<NDArray> factors = m.getManagedArrays().stream()
                    .filter(a -> !before.contains(a) && a != y && !a.isReleased() && a.getShape().dimension() == 0).toList();
            assertEquals(1, factors.size(), "live 0-d factors: " + factors);
            assertEquals(0.25f, factors.get(0).getFloat());
        }
    }

    /** End to end (fails only when the allocator happens to reuse the freed memory, hence the test above). */
    @Test
    void gradientOfScaledTensorIsRightAfterGcChurn() {
        try (NDManager m = NDManager.newBaseManager()) {
            for (int trial = 0; trial < 20; trial++) {
                NDArray x = m.create(new float[]{1, 2, 3});
                x.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray y = Scalars.scale(x, 0.25).sum();
                    churn();
                    gc.backward(y);
                }
                assertArrayEquals(new float[]{0.25f, 0.25f, 0.25f}, x.getGradient().toFloatArray());
            }
        }
    }

    /** Collects garbage and refills freed direct memory with NaN, so any dangling scalar would read NaN. */
    static void churn() {
        System.gc();
        List<ByteBuffer> keep = new ArrayList<>();
        for (int i = 0; i < 2000; i++) keep.add(ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putFloat(0, Float.NaN));
        System.gc();
        keep.clear();
    }
}
