package dev.ffwd.data;

import dev.ffwd.FfwdException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A seeded, deterministic train / test / validation split. As in the paper, the tiny validation set
 * that Fast Forward uses is held out of the test split, so the test loss is never seen by FF.
 */
public record Splits(List<Example> train, List<Example> test, List<Example> validation) {

    public static Splits of(List<Example> all, double testFraction, int validationSize, long seed) {
        List<Example> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, new Random(seed));
        int nHeld = (int) Math.round(shuffled.size() * testFraction);
        if (nHeld <= validationSize || shuffled.size() - nHeld < 1)
            throw new FfwdException("dataset too small: " + all.size() + " examples cannot give a test split of "
                    + (int) (testFraction * 100) + "% that also holds " + validationSize + " validation examples and leaves training data");
        List<Example> held = shuffled.subList(0, nHeld);
        return new Splits(List.copyOf(shuffled.subList(nHeld, shuffled.size())),
                List.copyOf(held.subList(validationSize, held.size())), List.copyOf(held.subList(0, validationSize)));
    }
}
