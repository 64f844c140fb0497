package dev.ffwd.data;

import dev.ffwd.FfwdException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A seeded, deterministic train / test / validation split. As in the paper, the tiny validation set
 * that Fast Forward uses is held out of the test split, so the test loss is never seen by FF. Without Fast Forward
 * the validation size is 0 and the whole held-out part is the test split.
 */
public record Splits(List<Example> train, List<Example> test, List<Example> validation) {

    public static Splits of(List<Example> all, double testFraction, int validationSize, long seed) {
        if (!(testFraction > 0 && testFraction < 1))
            throw new IllegalArgumentException("test fraction must be in (0, 1), got " + testFraction);
        if (validationSize < 0) throw new IllegalArgumentException("validation size must be >= 0, got " + validationSize);
        List<Example> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, new Random(seed));
        int nHeld = (int) Math.round(shuffled.size() * testFraction);
        if (nHeld <= validationSize || shuffled.size() - nHeld < 1) {
            String fix = validationSize > 0
                    ? "; raise the test fraction (--test-fraction), lower the Fast Forward validation size (--ff-val-size), or add data"
                    : "; change the test fraction (--test-fraction) or add data";
            throw new FfwdException("dataset too small: " + all.size() + " examples cannot give a test split of "
                    + Math.round(testFraction * 100) + "%" + (validationSize > 0 ? " that also holds " + validationSize + " validation examples" : "")
                    + " and leave training data" + fix);
        }
        List<Example> held = shuffled.subList(0, nHeld);
        return new Splits(List.copyOf(shuffled.subList(nHeld, shuffled.size())),
                List.copyOf(held.subList(validationSize, held.size())), List.copyOf(held.subList(0, validationSize)));
    }
}
