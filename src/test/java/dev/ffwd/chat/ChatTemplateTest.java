package dev.ffwd.chat;

import dev.ffwd.FfwdException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The real chat templates of Qwen2.5, Qwen3, Llama 3, Phi-3 and Gemma (their tokenizer_config.json fields, in
 * src/test/resources/chat) against the prompt formats their model cards document, written out by hand.
 */
class ChatTemplateTest {

    @TempDir Path tmp;

    static Path model(String name) {
        try {
            return Path.of(ChatTemplateTest.class.getResource("/chat/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static final List<Message> CONVERSATION = List.of(Message.system("You are terse."), Message.user("Hi there"),
            Message.assistant("Hello!"), Message.user("How are you?"));

    @Test
    void qwen25IsChatMlWithItsDefaultSystemPrompt() {
        ChatTemplate t = ChatTemplate.load(model("Qwen2.5-0.5B-Instruct"));
        assertEquals("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n",
                t.render(CONVERSATION, true));
        assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", t.render(List.of(Message.user("Hi")), true));
        assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n", t.render(List.of(Message.user("Hi")), false));
    }

    @Test
    void llama3HasHeadersBosAndTrimmedContent() {
        ChatTemplate t = ChatTemplate.load(model("Meta-Llama-3-8B-Instruct"));
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(CONVERSATION, true));
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nspaced<|eot_id|>",
                t.render(List.of(Message.user("  spaced \n")), false));
    }

    @Test
    void phi3EndsWithTheAssistantTagOrEos() {
        ChatTemplate t = ChatTemplate.load(model("Phi-3-mini-4k-instruct"));
        assertEquals("<|system|>\nYou are terse.<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\nHello!<|end|>\n"
                + "<|user|>\nHow are you?<|end|>\n<|assistant|>\n", t.render(CONVERSATION, true));
        assertEquals("<|user|>\nHi<|end|>\n<|assistant|>\nHello<|end|>\n<|endoftext|>",
                t.render(List.of(Message.user("Hi"), Message.assistant("Hello")), false));
    }

    @Test
    void gemmaCallsTheAssistantModelAndRejectsSystemMessages() {
        ChatTemplate t = ChatTemplate.load(model("gemma-2b-it"));
        assertEquals("<bos><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
                + "<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n", t.render(CONVERSATION.subList(1, 4), true));
        FfwdException e = assertThrows(FfwdException.class, () -> t.render(CONVERSATION, true));
        assertEquals(model("gemma-2b-it").resolve("tokenizer_config.json") + ": chat_template: System role not supported", e.getMessage());
        e = assertThrows(FfwdException.class, () -> t.render(List.of(Message.user("a"), Message.user("b")), true));
        assertTrue(e.getMessage().endsWith("Conversation roles must alternate user/assistant/user/assistant/..."), e.getMessage());
    }

    @Test
    void qwen3DropsPastReasoningAndOpensAnEmptyThinkBlockWhenThinkingIsOff() {
        ChatTemplate t = ChatTemplate.load(model("Qwen3-0.6B"));
        String past = "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n";
        List<Message> withReasoning = List.of(CONVERSATION.get(0), CONVERSATION.get(1),
                Message.assistant("<think>\nbe brief\n</think>\n\nHello!"), CONVERSATION.get(3));
        assertEquals(past + "<|im_start|>assistant\n", t.render(withReasoning, true));
        assertEquals(past + "<|im_start|>assistant\n<think>\n\n</think>\n\n", t.render(CONVERSATION, true, Map.of("enable_thinking", false)));
        List<Message> answered = List.of(Message.user("Hi"), Message.assistant("Fine."));
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nFine.<|im_end|>\n", t.render(answered, false));
        assertEquals(new ChatTemplate.Part("<think>\n\n</think>\n\nFine.<|im_end|>", true), t.renderParts(answered).get(1));
    }

    @Test
    void jinjavaRewritesTouchOnlyExpressions() {
        assertEquals("{% for m in (messages|reverse|list) %}x[::-1]{% set ns = namespace(a=(true), b=(messages|length - 1)) %}"
                        + "{{ namespace(c=(f(1, 2))) }}{{ a == b }}",
                JinjaCompat.rewrite("{% for m in messages[::-1] %}x[::-1]{% set ns = namespace(a=true, b=messages|length - 1) %}"
                        + "{{ namespace(c=f(1, 2)) }}{{ a == b }}"));
    }

    @Test
    void partsMarkEachAssistantTurnWithItsEndOfTurnMarker() {
        List<Message> chat = List.of(Message.user("Hi there"), Message.assistant("Hello!"), Message.user("Hello!"),
                Message.assistant("  Fine.  "));
        assertEquals(List.of(
                new ChatTemplate.Part("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", false),
                new ChatTemplate.Part("Hello!<|im_end|>", true),
                new ChatTemplate.Part("\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n", false),
                new ChatTemplate.Part("  Fine.  <|im_end|>", true),
                new ChatTemplate.Part("\n", false)), ChatTemplate.load(model("Qwen2.5-0.5B-Instruct")).renderParts(chat));
        assertEquals(List.of(
                new ChatTemplate.Part("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n", false),
                new ChatTemplate.Part("Hello!<|eot_id|>", true),
                new ChatTemplate.Part("<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", false),
                new ChatTemplate.Part("Fine.<|eot_id|>", true)), ChatTemplate.load(model("Meta-Llama-3-8B-Instruct")).renderParts(chat));
        // Phi-3 appends EOS after the last turn only; each turn learns its <|end|>
        List<ChatTemplate.Part> phi = ChatTemplate.load(model("Phi-3-mini-4k-instruct")).renderParts(chat);
        assertEquals(new ChatTemplate.Part("Hello!<|end|>", true), phi.get(1));
        assertEquals(new ChatTemplate.Part("  Fine.  <|end|>", true), phi.get(3));
        assertEquals(new ChatTemplate.Part("\n<|endoftext|>", false), phi.get(4));
        List<ChatTemplate.Part> gemma = ChatTemplate.load(model("gemma-2b-it")).renderParts(chat);
        assertEquals(List.of("Hello!<end_of_turn>", "Fine.<end_of_turn>"),
                gemma.stream().filter(ChatTemplate.Part::assistant).map(ChatTemplate.Part::text).toList());
        // a template without special tokens or generation prompt: the turn runs through all the text the renderings
        // agree on, and starts at its role header, which no generation prompt writes for the model
        List<ChatTemplate.Part> plain = ChatTemplate.of("{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}", Map.of(), Path.of("t"))
                .renderParts(chat);
        assertEquals(List.of("assistant: Hello!\n", "assistant:   Fine.  \n"), plain.stream().filter(ChatTemplate.Part::assistant).map(ChatTemplate.Part::text).toList());
    }

    @Test
    void aFolderWithoutATemplateIsOneErrorNamingTheFile() throws IOException {
        FfwdException e = assertThrows(FfwdException.class, () -> ChatTemplate.load(tmp));
        assertTrue(e.getMessage().startsWith(tmp.resolve("tokenizer_config.json") + ": no chat_template"), e.getMessage());
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
        assertTrue(ChatTemplate.find(tmp).isEmpty());
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"chat_template\": 3}");
        e = assertThrows(FfwdException.class, () -> ChatTemplate.find(tmp));
        assertEquals(tmp.resolve("tokenizer_config.json") + ": chat_template must be a string or a list of named templates, got number", e.getMessage());
    }

    @Test
    void templateFileNamedTemplatesAndAddedTokenObjects() throws IOException {
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"bos_token\": {\"content\": \"<s>\", \"lstrip\": false},"
                + " \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"{{ bos_token }}{{ messages[0].content }}\\n\"}]}");
        assertEquals("<s>hi", ChatTemplate.load(tmp).render(List.of(Message.user("hi")), true), "a single trailing newline is dropped, as in Jinja2");
        Files.writeString(tmp.resolve("chat_template.jinja"), "[{{ messages[0].role }}]");
        ChatTemplate t = ChatTemplate.load(tmp);
        assertEquals(tmp.resolve("chat_template.jinja"), t.source());
        assertEquals("[user]", t.render(List.of(Message.user("hi")), true));
    }

    @Test
    void brokenTemplatesAndPythonStringMethods() {
        Path src = Path.of("t.json");
        FfwdException e = assertThrows(FfwdException.class, () -> ChatTemplate.of("{% for %}", Map.of(), src).render(List.of(), true));
        assertTrue(e.getMessage().startsWith("t.json: chat_template line 1: "), e.getMessage());
        String s = "{% set c = messages[0].content %}{{ c.split('</think>')[-1].lstrip('\\n') }}|{{ c.strip('\\n<') }}|"
                + "{{ c.startswith('\\n<think>') }}{{ c.endswith(('x', 'z')) }}|{{ 'a,,b,'.split(',') | length }}|"
                + "{{ ' a  b '.split() | join('+') }}|{{ 'ab'.upper() }}{{ 'hello world'.title() }}|{{ '-'.join(['x', 'y']) }}";
        assertEquals("y|think>x</think>\ny|truefalse|4|a+b|ABHello World|x-y",
                ChatTemplate.of(s, Map.of(), src).render(List.of(Message.assistant("\n<think>x</think>\ny")), false));
    }
}
