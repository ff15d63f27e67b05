package ai.eapo.model;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;

/**
 * Frees a Java direct buffer at once instead of when the garbage collector gets to it: a model's worth of
 * buffers waiting for a collection is a model's worth of resident memory (and of the JVM's direct-memory limit).
 * Uses {@code sun.misc.Unsafe.invokeCleaner} (module jdk.unsupported, Java 9+); where it is not available the
 * buffer is left to the collector.
 */
final class DirectBuffers {

    private static final sun.misc.Unsafe UNSAFE = unsafe();

    private DirectBuffers() {
    }

    /** Frees {@code buffer}, a direct buffer from {@link ByteBuffer#allocateDirect} (not a slice or view of one). */
    static void free(ByteBuffer buffer) {
        if (UNSAFE != null && buffer.isDirect()) {
            UNSAFE.invokeCleaner(buffer);
        }
    }

    private static sun.misc.Unsafe unsafe() {
        try {
            Field field = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            return (sun.misc.Unsafe) field.get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
