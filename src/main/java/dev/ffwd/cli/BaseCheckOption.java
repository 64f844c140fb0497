package dev.ffwd.cli;

import picocli.CommandLine.Option;

/** --allow-other-base: apply an ffwd adapter to a model other than the one it was trained on (it is refused otherwise). */
final class BaseCheckOption {
    @Option(names = "--allow-other-base", description = "Apply the adapter even though it records another base model "
            + "(by default such an adapter is refused, naming both models).")
    boolean allowOtherBase;
}
