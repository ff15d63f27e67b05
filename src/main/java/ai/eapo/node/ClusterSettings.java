package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.actors.Pipeline;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A node's place in the cluster, from {@code eapo.node}: its roles, the seed nodes it joins, and the Pekko
 * settings that follow (cluster roles, seed-node addresses, Artery TLS).
 */
record ClusterSettings(Set<Pipeline.Role> roles, List<String> seedNodes) {

    static final String ALL = "all";
    /** The actor system's name: every node of a cluster must use the same. */
    static final String SYSTEM_NAME = "eapo";

    /** Reads and checks {@code eapo.node.roles} and {@code eapo.node.seed-nodes}. */
    static ClusterSettings of(Config config) {
        Set<Pipeline.Role> roles = EnumSet.noneOf(Pipeline.Role.class);
        for (String name : config.getStringList("eapo.node.roles")) {
            String role = name.strip().toLowerCase(java.util.Locale.ROOT);
            if (role.equals(ALL)) {
                roles.addAll(EnumSet.allOf(Pipeline.Role.class));
                continue;
            }
            roles.add(Arrays.stream(Pipeline.Role.values()).filter(r -> r.configName().equals(role)).findFirst()
                    .orElseThrow(() -> new UserInputException("eapo.node.roles (--role) '" + name
                            + "' is not a role; use learner, sampler, prior, verifier or all")));
        }
        if (roles.isEmpty()) {
            throw new UserInputException("eapo.node.roles (--role) is empty; use learner, sampler, prior, verifier or all");
        }
        List<String> seeds = new ArrayList<>();
        for (String seed : config.getStringList("eapo.node.seed-nodes")) {
            String[] hostPort = seed.strip().split(":");
            if (hostPort.length != 2 || hostPort[0].isBlank() || !hostPort[1].matches("\\d{1,5}")) {
                throw new UserInputException("eapo.node.seed-nodes (--seed-nodes) '" + seed + "' is not host:port");
            }
            seeds.add("pekko://" + SYSTEM_NAME + "@" + hostPort[0] + ":" + hostPort[1]);
        }
        return new ClusterSettings(roles, seeds);
    }

    boolean has(Pipeline.Role role) {
        return roles.contains(role);
    }

    /** The roles here that run the model (learner, sampler, prior): they share this process's cores. */
    int computingRoles() {
        return (int) roles.stream().filter(r -> r != Pipeline.Role.VERIFIER).count();
    }

    /** Without seed nodes a node starts a cluster of its own (it joins itself). */
    boolean joinsItself() {
        return seedNodes.isEmpty();
    }

    /** {@code config} with the Pekko settings of this node: cluster roles, seed nodes, TLS when switched on. */
    Config pekkoConfig(Config config) {
        List<String> roleNames = roles.stream().map(Pipeline.Role::configName).collect(Collectors.toList());
        Config cluster = ConfigFactory.parseMap(Map.of("pekko.cluster.roles", roleNames,
                "pekko.cluster.seed-nodes", seedNodes));
        return ArteryTls.apply(cluster.withFallback(config));
    }

    /** The roles as users write them, for messages. */
    String describeRoles() {
        return roles.size() == Pipeline.Role.values().length ? ALL
                : roles.stream().map(Pipeline.Role::configName).collect(Collectors.joining(","));
    }
}
