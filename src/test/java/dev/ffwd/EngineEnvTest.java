package dev.ffwd;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Processes ffwd starts run as this one does; reference engines run with glibc's own malloc settings. */
class EngineEnvTest {

    @Test
    void childrenGetThisProcesssSettingsAndReferencesGlibcsOwn() {
        // Surefire sets both variables as the launcher does (pom.xml)
        assertEquals(2097152L, EngineEnv.mmapThreshold());
        assertTrue(EngineEnv.hugePages());
        Map<String, String> children = EngineEnv.forChildren();
        assertEquals("2097152", children.get(EngineEnv.MMAP_THRESHOLD));
        assertEquals("1", children.get(EngineEnv.THP));
        assertEquals("true", children.get("OPT_OUT_TRACKING"));
        Map<String, String> reference = new HashMap<>(children);
        EngineEnv.forReference(reference);
        assertFalse(reference.containsKey(EngineEnv.MMAP_THRESHOLD), "PyTorch and llama.cpp run as their users run them");
        assertEquals("1", reference.get(EngineEnv.THP), "the rest of the environment stays");
    }
}
