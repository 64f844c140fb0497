package dev.ffwd.cli;

import picocli.CommandLine.Option;

/** The input of {@code score} and {@code generate}: text to tokenize, or token ids (exactly one). */
final class PromptInput {
    @Option(names = {"--prompt", "--text"}, description = "Text to tokenize (score: the text scored; generate: the prompt continued).") String text;
    @Option(names = "--token-ids", split = ",", description = "Comma-separated token ids.") long[] ids;
}
