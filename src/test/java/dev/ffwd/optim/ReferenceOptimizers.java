package dev.ffwd.optim;

/**
 * Test oracles: float64 transcriptions of three learning-rate-free optimizers' reference implementations,
 * in plain double math (no DJL), one parameter group holding all parameters, every parameter with a gradient.
 *
 * <ul>
 *   <li>{@link Prodigy}: konstmish/prodigy, {@code prodigyopt/prodigy.py}, class {@code Prodigy} (slice_p=1, no FSDP).</li>
 *   <li>{@link ScheduleFree}: facebookresearch/schedule_free, {@code schedulefree/adamw_schedulefree_reference.py},
 *       class {@code AdamWScheduleFreeReference} (decay_at_z=False, inner_momentum=0, train mode).</li>
 *   <li>{@link DAdaptAdam}: facebookresearch/dadaptation, {@code dadaptation/dadapt_adam.py}, class {@code DAdaptAdam}
 *       (layer_scale=1, no FSDP, no logging).</li>
 * </ul>
 *
 * Quirks of upstream are kept on purpose (they are what the oracle checks). Element-wise expressions follow the
 * operand order of PyTorch's CPU kernels ({@code add(a, b, alpha)} = {@code a + alpha*b}, {@code addcmul} =
 * {@code self + value*t1*t2}, {@code addcdiv} = {@code self + value*t1/t2}) so that agreement with upstream in
 * float64 is to rounding. {@code max}/{@code min} on scalars use Python's semantics ({@link #pyMax}, {@link #pyMin}).
 * Gradients passed in are never modified: upstream's coupled weight decay writes into {@code p.grad}; here that
 * happens on a private copy that the rest of the step uses, as upstream does.
 */
public final class ReferenceOptimizers {

    private ReferenceOptimizers() {}

    /** Python's {@code max(a, b)}: keeps {@code a} unless {@code b > a} (so a NaN second argument is ignored). */
    static double pyMax(double a, double b) { return b > a ? b : a; }

    /** Python's {@code min(a, b)}: keeps {@code a} unless {@code b < a}. */
    static double pyMin(double a, double b) { return b < a ? b : a; }

    private static double[][] zerosLike(double[][] a) {
        double[][] z = new double[a.length][];
        for (int i = 0; i < a.length; i++) z[i] = new double[a[i].length];
        return z;
    }

    private static double[][] deepCopy(double[][] a) {
        if (a == null) return null;
        double[][] c = new double[a.length][];
        for (int i = 0; i < a.length; i++) c[i] = a[i] == null ? null : a[i].clone();
        return c;
    }

    private static void checkShapes(double[][] params, double[][] grads, double[][] stateLike) {
        if (grads.length != params.length) throw new IllegalArgumentException(grads.length + " grads for " + params.length + " params");
        for (int i = 0; i < params.length; i++) {
            if (grads[i].length != params[i].length) throw new IllegalArgumentException("param " + i + ": grad length " + grads[i].length + " != " + params[i].length);
            if (stateLike != null && stateLike[i].length != params[i].length) throw new IllegalArgumentException("param " + i + " changed length");
        }
        if (stateLike != null && stateLike.length != params.length) throw new IllegalArgumentException("number of params changed");
    }

    // =====================================================================================================
    /** Prodigy (prodigyopt/prodigy.py, {@code Prodigy.step}), slice_p = 1, fsdp_in_use = False. */
    public static final class Prodigy {
        private final double lr, beta1, beta2, eps, weightDecay, d0, dCoef, growthRate;
        private final Double beta3Arg;
        private final boolean decouple, useBiasCorrection, safeguardWarmup;

        // group scalars: defaults dict(d=d0, d_max=d0, d_numerator=0.0, k=0); d_hat/d_denom only exist after a full step
        private double d, dMax, dNumerator = 0.0, dHat = Double.NaN, dDenom = Double.NaN;
        private long k = 0;

        // per-param state, created on the first step ("if 'step' not in state")
        private double[][] expAvg, expAvgSq, s, p0;
        private long[] stateStep;

        /**
         * Arguments as upstream's constructor ({@code betas=(beta1, beta2)}); {@code beta3 == null} means
         * {@code sqrt(beta2)}. Upstream defaults: lr 1.0, betas (0.9, 0.999), beta3 None, eps 1e-8, weight_decay 0,
         * decouple True, use_bias_correction False, safeguard_warmup False, d0 1e-6, d_coef 1.0, growth_rate inf.
         */
        public Prodigy(double lr, double beta1, double beta2, Double beta3, double eps, double weightDecay,
                       boolean decouple, boolean useBiasCorrection, boolean safeguardWarmup, double d0, double dCoef, double growthRate) {
            // __init__ validation
            if (!(0.0 < d0)) throw new IllegalArgumentException("Invalid d0 value: " + d0);
            if (!(0.0 < lr)) throw new IllegalArgumentException("Invalid learning rate: " + lr);
            if (!(0.0 < eps)) throw new IllegalArgumentException("Invalid epsilon value: " + eps);
            if (!(0.0 <= beta1 && beta1 < 1.0)) throw new IllegalArgumentException("Invalid beta parameter at index 0: " + beta1);
            if (!(0.0 <= beta2 && beta2 < 1.0)) throw new IllegalArgumentException("Invalid beta parameter at index 1: " + beta2);
            this.lr = lr; this.beta1 = beta1; this.beta2 = beta2; this.beta3Arg = beta3; this.eps = eps;
            this.weightDecay = weightDecay; this.decouple = decouple; this.useBiasCorrection = useBiasCorrection;
            this.safeguardWarmup = safeguardWarmup; this.d0 = d0; this.dCoef = dCoef; this.growthRate = growthRate;
            this.d = d0;
            this.dMax = d0;
        }

        /** Upstream defaults: {@code Prodigy(params)}. */
        public static Prodigy defaults() {
            return new Prodigy(1.0, 0.9, 0.999, null, 1e-8, 0.0, true, false, false, 1e-6, 1.0, Double.POSITIVE_INFINITY);
        }

        /** One optimizer step, one param group holding all params; params updated in place; grads as given (every param has a grad). */
        public void step(double[][] params, double[][] grads) {
            checkShapes(params, grads, expAvgSq);
            double[][] g = deepCopy(grads);  // upstream mutates p.grad (coupled decay); keep the caller's arrays intact

            double dDenomAcc = 0.0;                                   // d_denom = 0.0
            // beta3 = group['beta3']; if None: math.sqrt(beta2)
            double beta3 = beta3Arg == null ? Math.sqrt(beta2) : beta3Arg;
            // bias_correction = ((1 - beta2**(k+1))**0.5) / (1 - beta1**(k+1)), else 1
            double biasCorrection = useBiasCorrection
                    ? Math.pow(1 - Math.pow(beta2, k + 1), 0.5) / (1 - Math.pow(beta1, k + 1))
                    : 1;
            double dlr = d * lr * biasCorrection;                     // dlr from the d at the start of the step

            double dNum = dNumerator;                                 // d_numerator = group['d_numerator']
            dNum *= beta3;                                            // d_numerator *= beta3 (before accumulation)
            double deltaNumerator = 0.0;

            double groupLr = lr;                                      // single group: group_lr == lr
            for (int i = 0; i < params.length; i++) {
                double[] p = params[i], grad = g[i];

                // coupled weight decay: grad.add_(p.data, alpha=decay)
                if (weightDecay != 0 && !decouple) {
                    for (int j = 0; j < p.length; j++) grad[j] = grad[j] + weightDecay * p[j];
                }

                // state initialization ("if 'step' not in state")
                if (expAvgSq == null) initState(params);
                if (stateStep[i] < 0) {
                    stateStep[i] = 0;
                    s[i] = new double[p.length];
                    // p0 = clone of p if p.any(), else a scalar 0 (broadcasts as zeros): stored here as zeros
                    p0[i] = any(p) ? p.clone() : new double[p.length];
                    if (beta1 > 0) expAvg[i] = new double[p.length];
                    expAvgSq[i] = new double[p.length];
                }
                double[] eas = expAvgSq[i], si = s[i], p0i = p0[i];

                if (groupLr > 0.0) {
                    // delta_numerator += (d / d0) * dlr * torch.dot(sliced_grad, p0 - p)
                    double dot = 0.0;
                    for (int j = 0; j < p.length; j++) dot += grad[j] * (p0i[j] - p[j]);
                    deltaNumerator += (d / d0) * dlr * dot;

                    // Adam EMAs: exp_avg = exp_avg*beta1 + d*(1-beta1)*grad; exp_avg_sq = exp_avg_sq*beta2 + d*d*(1-beta2)*grad*grad
                    if (beta1 > 0) {
                        double[] ea = expAvg[i];
                        double a = d * (1 - beta1);
                        for (int j = 0; j < p.length; j++) ea[j] = ea[j] * beta1 + a * grad[j];
                    }
                    double v = d * d * (1 - beta2);
                    for (int j = 0; j < p.length; j++) eas[j] = eas[j] * beta2 + v * grad[j] * grad[j];

                    // s = s*beta3 + (d/d0)*d*grad (safeguard_warmup) or (d/d0)*dlr*grad
                    double alpha = safeguardWarmup ? ((d / d0) * d) : ((d / d0) * dlr);
                    double abs = 0.0;
                    for (int j = 0; j < p.length; j++) {
                        si[j] = si[j] * beta3 + alpha * grad[j];
                        abs += Math.abs(si[j]);
                    }
                    dDenomAcc += abs;                                 // d_denom += s.abs().sum()
                }
            }

            double dHatLocal = d;                                     // d_hat = d
            // "if we have not done any progress, return": EMAs/s already updated above, but d_numerator,
            // d, d_max, d_hat, d_denom, state['step'] and k are left as they were.
            if (dDenomAcc == 0) return;

            double globalDNumerator = dNum + deltaNumerator;          // global_d_numerator = d_numerator + delta_numerator
            double globalDDenom = dDenomAcc;
            double dNew = d, dMaxNew = dMax;
            if (lr > 0.0) {
                dHatLocal = dCoef * globalDNumerator / globalDDenom; // d_hat = d_coef * num / denom
                if (dNew == d0) dNew = pyMax(dNew, dHatLocal);         // if d == d0: d = max(d, d_hat)
                dMaxNew = pyMax(dMaxNew, dHatLocal);                   // d_max = max(d_max, d_hat)
                dNew = pyMin(dMaxNew, dNew * growthRate);              // d = min(d_max, d * growth_rate)
            }

            // group['d_numerator'], ['d_denom'], ['d'], ['d_max'], ['d_hat']
            dNumerator = globalDNumerator;
            dDenom = globalDDenom;
            d = dNew;
            dMax = dMaxNew;
            dHat = dHatLocal;

            for (int i = 0; i < params.length; i++) {
                double[] p = params[i], grad = g[i], eas = expAvgSq[i];
                stateStep[i] += 1;
                // denom = exp_avg_sq.sqrt() + d*eps, with the NEW d
                double[] denom = new double[p.length];
                for (int j = 0; j < p.length; j++) denom[j] = Math.sqrt(eas[j]) + d * eps;

                // decoupled weight decay: p.add_(p, alpha=-decay*dlr), dlr from the OLD d
                if (weightDecay != 0 && decouple) {
                    double a = -weightDecay * dlr;
                    for (int j = 0; j < p.length; j++) p[j] = p[j] + a * p[j];
                }

                if (beta1 > 0) {
                    // p.addcdiv_(exp_avg, denom, value=-dlr)
                    double[] ea = expAvg[i];
                    for (int j = 0; j < p.length; j++) p[j] = p[j] + -dlr * ea[j] / denom[j];
                } else {
                    // p.addcdiv_(grad, denom, value=-dlr*d): grad includes coupled decay; d is the NEW d
                    double val = -dlr * d;
                    for (int j = 0; j < p.length; j++) p[j] = p[j] + val * grad[j] / denom[j];
                }
            }
            k = k + 1;                                                // group['k'] = k + 1
        }

        private void initState(double[][] params) {
            int n = params.length;
            expAvg = new double[n][];
            expAvgSq = new double[n][];
            s = new double[n][];
            p0 = new double[n][];
            stateStep = new long[n];
            java.util.Arrays.fill(stateStep, -1);
        }

        private static boolean any(double[] p) {
            for (double v : p) if (v != 0) return true;  // torch .any(): NaN counts as true
            return false;
        }

        public double d() { return d; }
        public double dMax() { return dMax; }
        /** group['d_numerator'] after the last completed step (already includes the beta3 decay). */
        public double dNumerator() { return dNumerator; }
        /** group['d_hat']; NaN until the first step that did not return early (upstream has no key before). */
        public double dHat() { return dHat; }
        /** group['d_denom']; NaN until the first step that did not return early. */
        public double dDenom() { return dDenom; }
        public long k() { return k; }
        /** Copies; null before the first step. {@code expAvg} entries are null when beta1 == 0. */
        public double[][] expAvg() { return deepCopy(expAvg); }
        public double[][] expAvgSq() { return deepCopy(expAvgSq); }
        public double[][] s() { return deepCopy(s); }
        /** Initial params (zeros for an all-zero param, where upstream keeps a scalar 0). */
        public double[][] p0() { return deepCopy(p0); }
    }

    // =====================================================================================================
    /**
     * Schedule-Free AdamW, simplified reference (schedulefree/adamw_schedulefree_reference.py,
     * {@code AdamWScheduleFreeReference.step}) with decay_at_z=False and inner_momentum=0, always in train mode
     * (the params passed to {@link #step} hold y).
     */
    public static final class ScheduleFree {
        private final double lr, beta1, beta2, eps, weightDecay, r, weightLrPower;
        private final long warmupSteps;

        // group scalars: defaults dict(k=0, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0)
        private long k = 0;
        private double weightSum = 0.0, lrMax = -1.0, scheduledLr = 0.0;

        // per-param state, created on the first step ("if 'z' not in state")
        private double[][] z, expAvgSq, x, y;

        /**
         * Upstream defaults: lr 0.0025, betas (0.9, 0.999), eps 1e-8, weight_decay 0, warmup_steps 0, r 0,
         * weight_lr_power 2.
         */
        public ScheduleFree(double lr, double beta1, double beta2, double eps, double weightDecay, long warmupSteps, double r, double weightLrPower) {
            this.lr = lr; this.beta1 = beta1; this.beta2 = beta2; this.eps = eps; this.weightDecay = weightDecay;
            this.warmupSteps = warmupSteps; this.r = r; this.weightLrPower = weightLrPower;
        }

        /** Upstream defaults: {@code AdamWScheduleFreeReference(params)}. */
        public static ScheduleFree defaults() {
            return new ScheduleFree(0.0025, 0.9, 0.999, 1e-8, 0.0, 0, 0.0, 2.0);
        }

        /** One step; {@code params} hold y (train mode) and are overwritten with the new y. */
        public void step(double[][] params, double[][] grads) {
            checkShapes(params, grads, z);
            // (upstream's "lr = max(group['lr'], eps)" is dead: lr is reassigned below before any use)

            // sched = (k+1)/warmup_steps while k < warmup_steps, else 1.0
            double sched = k < warmupSteps ? (double) (k + 1) / (double) warmupSteps : 1.0;
            double biasCorrection2 = 1 - Math.pow(beta2, k + 1);     // bias_correction2 = 1 - beta2**(k+1)
            double lrK = lr * sched;                                  // lr = group['lr']*sched
            scheduledLr = lrK;                                        // group['scheduled_lr'] (logging)
            lrMax = pyMax(lrK, lrMax);                                // lr_max = max(lr, group['lr_max'])
            // weight = ((k+1)**r) * (lr_max**weight_lr_power); weight_sum += weight
            double weight = Math.pow(k + 1, r) * Math.pow(lrMax, weightLrPower);
            weightSum = weightSum + weight;
            // ckp1 = weight/weight_sum, 0 on ZeroDivisionError
            double ckp1 = weightSum == 0.0 ? 0 : weight / weightSum;

            if (z == null) {                                          // state init: z, x, y clone p; exp_avg_sq zeros
                z = deepCopy(params);
                expAvgSq = zerosLike(params);
                x = deepCopy(params);
                y = deepCopy(params);
            }

            for (int i = 0; i < params.length; i++) {
                double[] p = params[i], grad = grads[i], eas = expAvgSq[i], zi = z[i], xi = x[i], yi = y[i];
                int n = p.length;

                // weight decay at y (decay_at_z=False): z.sub_(y, alpha=lr*decay)
                if (weightDecay != 0) {
                    double a = lrK * weightDecay;
                    for (int j = 0; j < n; j++) zi[j] = zi[j] - a * yi[j];
                }

                // exp_avg_sq = exp_avg_sq*beta2 + (1-beta2)*grad*grad; denom = sqrt(exp_avg_sq/bc2) + eps
                double v = 1 - beta2;
                double[] denom = new double[n];
                for (int j = 0; j < n; j++) {
                    eas[j] = eas[j] * beta2 + v * grad[j] * grad[j];
                    denom[j] = Math.sqrt(eas[j] / biasCorrection2) + eps;
                }

                // inner_momentum == 0: update_num = grad; z.addcdiv_(grad, denom, value=-lr)
                for (int j = 0; j < n; j++) zi[j] = zi[j] + -lrK * grad[j] / denom[j];

                // x = x*(1-ckp1) + ckp1*z
                double c1 = 1 - ckp1;
                for (int j = 0; j < n; j++) xi[j] = xi[j] * c1 + ckp1 * zi[j];

                // y = x*beta1 + (1-beta1)*z; p.copy_(y)
                double c2 = 1 - beta1;
                for (int j = 0; j < n; j++) {
                    yi[j] = xi[j] * beta1 + c2 * zi[j];
                    p[j] = yi[j];
                }
            }
            k = k + 1;                                                // group['k'] = k+1
        }

        /** Copies; null before the first step. */
        public double[][] x() { return deepCopy(x); }
        public double[][] y() { return deepCopy(y); }
        public double[][] z() { return deepCopy(z); }
        public double[][] expAvgSq() { return deepCopy(expAvgSq); }
        public double weightSum() { return weightSum; }
        /** group['lr_max']; -1.0 before the first step. */
        public double lrMax() { return lrMax; }
        /** group['scheduled_lr'] of the last step (0.0 before the first). */
        public double scheduledLr() { return scheduledLr; }
        public long k() { return k; }
    }

    // =====================================================================================================
    /** D-Adaptation Adam (dadaptation/dadapt_adam.py, {@code DAdaptAdam.step}), layer_scale=1, fsdp_in_use=False. */
    public static final class DAdaptAdam {
        private final double lr, beta1, beta2, eps, weightDecay, d0, growthRate;
        private final boolean decouple, useBiasCorrection;
        private static final double LAYER_SCALE = 1.0;            // group['layer_scale'] default

        // group scalars: defaults dict(d=d0, k=0, numerator_weighted=0.0)
        private double d, numeratorWeighted = 0.0;
        private long k = 0;

        private double[][] expAvg, expAvgSq, s;
        private long[] stateStep;

        /**
         * Upstream defaults: lr 1.0, betas (0.9, 0.999), eps 1e-8, weight_decay 0, decouple False,
         * use_bias_correction False, d0 1e-6, growth_rate inf.
         */
        public DAdaptAdam(double lr, double beta1, double beta2, double eps, double weightDecay, boolean decouple, boolean useBiasCorrection, double d0, double growthRate) {
            if (!(0.0 < d0)) throw new IllegalArgumentException("Invalid d0 value: " + d0);
            if (!(0.0 < lr)) throw new IllegalArgumentException("Invalid learning rate: " + lr);
            if (!(0.0 < eps)) throw new IllegalArgumentException("Invalid epsilon value: " + eps);
            if (!(0.0 <= beta1 && beta1 < 1.0)) throw new IllegalArgumentException("Invalid beta parameter at index 0: " + beta1);
            if (!(0.0 <= beta2 && beta2 < 1.0)) throw new IllegalArgumentException("Invalid beta parameter at index 1: " + beta2);
            this.lr = lr; this.beta1 = beta1; this.beta2 = beta2; this.eps = eps; this.weightDecay = weightDecay;
            this.decouple = decouple; this.useBiasCorrection = useBiasCorrection; this.d0 = d0; this.growthRate = growthRate;
            this.d = d0;
        }

        /** Upstream defaults: {@code DAdaptAdam(params)}. */
        public static DAdaptAdam defaults() {
            return new DAdaptAdam(1.0, 0.9, 0.999, 1e-8, 0.0, false, false, 1e-6, Double.POSITIVE_INFINITY);
        }

        public void step(double[][] params, double[][] grads) {
            checkShapes(params, grads, expAvgSq);
            double[][] g = deepCopy(grads);  // upstream mutates p.grad (coupled decay)

            double skL1 = 0.0;                                        // sk_l1 = 0.0
            // bias_correction = ((1-beta2**(k+1))**0.5)/(1-beta1**(k+1)), else 1
            double biasCorrection = useBiasCorrection
                    ? Math.pow(1 - Math.pow(beta2, k + 1), 0.5) / (1 - Math.pow(beta1, k + 1))
                    : 1;
            double dlr = d * lr * biasCorrection;                     // dlr from the d at the start of the step
            double sqrtBeta2 = Math.pow(beta2, 0.5);                  // sqrt_beta2 = beta2**(0.5)
            double numeratorAcum = 0.0;
            double r = LAYER_SCALE;
            double groupLr = lr;

            if (expAvgSq == null) {                                   // state init: s, exp_avg, exp_avg_sq zeros
                expAvg = zerosLike(params);
                expAvgSq = zerosLike(params);
                s = zerosLike(params);
                stateStep = new long[params.length];
            }

            for (int i = 0; i < params.length; i++) {
                double[] p = params[i], grad = g[i], ea = expAvg[i], eas = expAvgSq[i], si = s[i];
                int n = p.length;

                // coupled weight decay: grad.add_(p.data, alpha=decay)
                if (weightDecay != 0 && !decouple) {
                    for (int j = 0; j < n; j++) grad[j] = grad[j] + weightDecay * p[j];
                }

                if (groupLr > 0.0) {
                    // denom = exp_avg_sq.sqrt() + eps (before this step's EMA)
                    // numerator_acum += r * dlr * dot(grad, s/denom) (s before this step's update)
                    double dot = 0.0;
                    for (int j = 0; j < n; j++) dot += grad[j] * (si[j] / (Math.sqrt(eas[j]) + eps));
                    numeratorAcum += r * dlr * dot;

                    // exp_avg = exp_avg*beta1 + r*dlr*(1-beta1)*grad; exp_avg_sq = exp_avg_sq*beta2 + (1-beta2)*grad*grad
                    double a = r * dlr * (1 - beta1), v = 1 - beta2;
                    for (int j = 0; j < n; j++) {
                        ea[j] = ea[j] * beta1 + a * grad[j];
                        eas[j] = eas[j] * beta2 + v * grad[j] * grad[j];
                    }

                    // s = s*sqrt_beta2 + dlr*(1-sqrt_beta2)*grad; sk_l1 += r * |s|_1
                    double b = dlr * (1 - sqrtBeta2), abs = 0.0;
                    for (int j = 0; j < n; j++) {
                        si[j] = si[j] * sqrtBeta2 + b * grad[j];
                        abs += Math.abs(si[j]);
                    }
                    skL1 += r * abs;
                }
            }

            // "if we have not done any progress, return": EMAs/s already updated; numerator_weighted, d, k unchanged
            if (skL1 == 0) return;

            // numerator_weighted EMA: sqrt_beta2*numerator_weighted + (1-sqrt_beta2)*numerator_acum
            double globalNumeratorWeighted = sqrtBeta2 * numeratorWeighted + (1 - sqrtBeta2) * numeratorAcum;
            double globalSkL1 = skL1;

            if (lr > 0.0) {
                double dHat = globalNumeratorWeighted / ((1 - sqrtBeta2) * globalSkL1);
                d = pyMax(d, pyMin(dHat, d * growthRate));            // d = max(d, min(d_hat, d*growth_rate))
            }

            numeratorWeighted = globalNumeratorWeighted;              // group['numerator_weighted'], group['d'] (above)

            for (int i = 0; i < params.length; i++) {
                double[] p = params[i], ea = expAvg[i], eas = expAvgSq[i];
                int n = p.length;
                stateStep[i] += 1;

                // decoupled weight decay: p.add_(p, alpha=-decay*dlr), dlr from the OLD d
                if (weightDecay != 0 && decouple) {
                    double a = -weightDecay * dlr;
                    for (int j = 0; j < n; j++) p[j] = p[j] + a * p[j];
                }

                // denom = exp_avg_sq.sqrt() + eps; p.addcdiv_(exp_avg, denom, value=-1) (dlr is already inside exp_avg)
                for (int j = 0; j < n; j++) p[j] = p[j] + -1.0 * ea[j] / (Math.sqrt(eas[j]) + eps);
            }
            k = k + 1;                                                // group['k'] = k + 1
        }

        public double d() { return d; }
        public double numeratorWeighted() { return numeratorWeighted; }
        public long k() { return k; }
        /** Copies; null before the first step. */
        public double[][] expAvg() { return deepCopy(expAvg); }
        public double[][] expAvgSq() { return deepCopy(expAvgSq); }
        public double[][] s() { return deepCopy(s); }
    }
}
