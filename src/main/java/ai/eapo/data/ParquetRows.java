package ai.eapo.data;

import ai.eapo.UserInputException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The rows of a parquet file as JSON trees, so that parquet data (verl's layout: {@code prompt} as a list of chat
 * messages, {@code reward_model.ground_truth}, {@code data_source}, ...) goes through the same field mapping as
 * JSONL. Structs become objects, parquet LISTs arrays (both the standard three-level and the legacy two-level
 * layouts), MAPs objects keyed by their keys; strings, numbers and booleans map to their JSON kinds, other binary
 * values to base64. A null or absent value is left out of its object.
 */
public final class ParquetRows {

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private ParquetRows() {
    }

    public static List<JsonNode> read(Path file) {
        // PlainParquetConfiguration: no Hadoop configuration (Hadoop is not on the class path).
        ParquetReadOptions options = ParquetReadOptions.builder(new PlainParquetConfiguration()).build();
        List<JsonNode> rows = new ArrayList<>();
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file), options)) {
            MessageType schema = reader.getFooter().getFileMetaData().getSchema();
            PageReadStore rowGroup;
            while ((rowGroup = reader.readNextRowGroup()) != null) {
                RecordReader<Group> records = new ColumnIOFactory().getColumnIO(schema)
                        .getRecordReader(rowGroup, new GroupRecordConverter(schema));
                for (long i = 0; i < rowGroup.getRowCount(); i++) {
                    rows.add(object(records.read()));
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new UserInputException("cannot read parquet file " + file + " (after " + rows.size() + " rows): "
                    + e.getMessage(), e);
        }
        return rows;
    }

    private static ObjectNode object(Group group) {
        ObjectNode node = JSON.objectNode();
        GroupType type = group.getType();
        for (int f = 0; f < type.getFieldCount(); f++) {
            Type field = type.getType(f);
            int count = group.getFieldRepetitionCount(f);
            if (count == 0) {
                continue;
            }
            if (field.isRepetition(Type.Repetition.REPEATED)) {
                ArrayNode values = node.putArray(field.getName());
                for (int i = 0; i < count; i++) {
                    values.add(value(group, f, i, field));
                }
            } else {
                node.set(field.getName(), value(group, f, 0, field));
            }
        }
        return node;
    }

    private static JsonNode value(Group group, int field, int index, Type type) {
        if (type.isPrimitive()) {
            return primitive(group, field, index, type.asPrimitiveType());
        }
        Group inner = group.getGroup(field, index);
        LogicalTypeAnnotation logical = type.getLogicalTypeAnnotation();
        if (logical instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation) {
            return list(inner);
        } else if (logical instanceof LogicalTypeAnnotation.MapLogicalTypeAnnotation) {
            return map(inner);
        }
        return object(inner);
    }

    /** {@code LIST}: a repeated field whose entries are the elements, or groups of one field holding them. */
    private static ArrayNode list(Group list) {
        ArrayNode out = JSON.arrayNode();
        if (list.getType().getFieldCount() != 1) {
            throw new IllegalStateException("a LIST group of " + list.getType().getFieldCount() + " fields");
        }
        Type repeated = list.getType().getType(0);
        // The standard layout wraps each element in a one-field group; the legacy "array" / "*_tuple" groups
        // and repeated primitives are the elements themselves (parquet-format's LogicalTypes.md).
        boolean wrapped = !repeated.isPrimitive() && repeated.asGroupType().getFieldCount() == 1
                && !repeated.getName().equals("array") && !repeated.getName().endsWith("_tuple");
        for (int i = 0; i < list.getFieldRepetitionCount(0); i++) {
            if (wrapped) {
                Group entry = list.getGroup(0, i);
                Type element = repeated.asGroupType().getType(0);
                out.add(entry.getFieldRepetitionCount(0) == 0 ? JSON.nullNode() : value(entry, 0, 0, element));
            } else {
                out.add(value(list, 0, i, repeated));
            }
        }
        return out;
    }

    /** {@code MAP}: repeated key/value groups. */
    private static ObjectNode map(Group map) {
        ObjectNode out = JSON.objectNode();
        for (int i = 0; i < map.getFieldRepetitionCount(0); i++) {
            Group entry = map.getGroup(0, i);
            GroupType entryType = entry.getType();
            String key = primitive(entry, 0, 0, entryType.getType(0).asPrimitiveType()).asText();
            out.set(key, entry.getFieldRepetitionCount(1) == 0 ? JSON.nullNode()
                    : value(entry, 1, 0, entryType.getType(1)));
        }
        return out;
    }

    private static JsonNode primitive(Group group, int field, int index, PrimitiveType type) {
        return switch (type.getPrimitiveTypeName()) {
            case BOOLEAN -> JSON.booleanNode(group.getBoolean(field, index));
            case INT32 -> JSON.numberNode(group.getInteger(field, index));
            case INT64 -> JSON.numberNode(group.getLong(field, index));
            case FLOAT -> JSON.numberNode(group.getFloat(field, index));
            case DOUBLE -> JSON.numberNode(group.getDouble(field, index));
            case BINARY, FIXED_LEN_BYTE_ARRAY, INT96 -> isText(type) ? JSON.textNode(group.getString(field, index))
                    : JSON.textNode(Base64.getEncoder().encodeToString(group.getBinary(field, index).getBytes()));
        };
    }

    private static boolean isText(PrimitiveType type) {
        LogicalTypeAnnotation logical = type.getLogicalTypeAnnotation();
        return logical instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation
                || logical instanceof LogicalTypeAnnotation.EnumLogicalTypeAnnotation
                || logical instanceof LogicalTypeAnnotation.JsonLogicalTypeAnnotation;
    }
}
