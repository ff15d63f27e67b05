package ai.eapo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Tensors larger than a slice (Qwen2.5-Math-7B's and Qwen3-8B's embeddings exceed the 2 GiB a buffer holds in fp32)
 * are read and written a slice of rows at a time, with the same values and bytes as whole.
 */
class SafeTensorsSlicesTest {

    @Test
    void readingAndWritingInSlicesOfRowsEqualsWholeTensors(@TempDir Path dir) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(4);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("matrix", m.randomNormal(new Shape(37, 11)));   // 37 rows: slices of 5 rows end short
            tensors.put("cube", m.randomNormal(new Shape(6, 4, 3)));
            tensors.put("vector", m.randomNormal(new Shape(29)));       // one row: never sliced
            for (String dtype : new String[]{"F32", "F16", "BF16"}) {
                Path file = dir.resolve(dtype + ".safetensors");
                SafeTensors.write(file, tensors, dtype);
                for (Map.Entry<String, NDArray> t : tensors.entrySet()) {
                    ByteArrayOutputStream whole = new ByteArrayOutputStream();
                    ByteArrayOutputStream sliced = new ByteArrayOutputStream();
                    SafeTensors.writeRows(whole, t.getValue(), dtype, Long.MAX_VALUE);
                    SafeTensors.writeRows(sliced, t.getValue(), dtype, 5 * 11 * 4);
                    assertArrayEquals(whole.toByteArray(), sliced.toByteArray(), dtype + " " + t.getKey());
                }
                try (SafeTensors.File st = SafeTensors.open(file)) {
                    for (String name : tensors.keySet()) {
                        for (DataType type : new DataType[]{DataType.FLOAT32, DataType.FLOAT16}) {
                            try (NDArray whole = st.load(name, m, type, Long.MAX_VALUE);
                                 NDArray sliced = st.load(name, m, type, 5 * 11 * 4)) {
                                assertEquals(whole.getShape(), sliced.getShape());
                                assertEquals(type, sliced.getDataType());
                                assertArrayEquals(whole.toType(DataType.FLOAT32, false).toFloatArray(),
                                        sliced.toType(DataType.FLOAT32, false).toFloatArray(), 0f,
                                        dtype + " " + name + " as " + type);
                            }
                        }
                    }
                    try (NDArray read = st.load("matrix", m, DataType.FLOAT32, 5 * 11 * 4)) {
                        if (dtype.equals("F32")) {
                            assertArrayEquals(tensors.get("matrix").toFloatArray(), read.toFloatArray(), 0f);
                        }
                    }
                }
            }
        }
    }
}
