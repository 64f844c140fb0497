package dev.ffwd;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Processes ffwd starts run as this one does; reference engines run with glibc's own malloc settings. */
class EngineEnvTest {

    @Test
    void childrenGetThisProcesssSettingsAndReferencesGlibcsOwn() {
        Map<String, String> children = EngineEnv.forChildren();
        assertEquals("1", children.get(EngineEnv.THP), "Surefire sets it as the launcher does (pom.xml)");
        assertEquals("true", children.get("OPT_OUT_TRACKING"));
        assertEquals(EngineEnv.DEFAULT_ARENAS, children.get(EngineEnv.ARENAS), "Surefire sets it as the launcher does (pom.xml)");
        assertEquals(1L, EngineEnv.arenas());
        assertEquals(System.getenv(EngineEnv.MMAP_THRESHOLD), children.get(EngineEnv.MMAP_THRESHOLD), "the user's value, or none");
        Map<String, String> reference = new HashMap<>(children);
        reference.put(EngineEnv.MMAP_THRESHOLD, "2097152");  // as a user who set it would have it
        EngineEnv.forReference(reference);
        assertFalse(reference.containsKey(EngineEnv.MMAP_THRESHOLD), "PyTorch and llama.cpp run as their users run them");
        assertFalse(reference.containsKey(EngineEnv.ARENAS), "glibc's own arenas for the reference");
        assertEquals("1", reference.get(EngineEnv.THP), "the rest of the environment stays");
    }
}
