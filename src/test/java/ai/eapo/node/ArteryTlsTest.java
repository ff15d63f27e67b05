package ai.eapo.node;

import ai.eapo.UserInputException;

import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.security.KeyStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Artery TLS (issue #6): nodes with the cluster's certificates join; a node with a wrong certificate is refused. */
class ArteryTlsTest {

    @TempDir
    static Path certs;

    /** The certificates of scripts/make-test-certs.sh: the cluster's set in certs/, a rogue CA's set in certs/rogue/. */
    @BeforeAll
    static void makeCertificates() throws Exception {
        Process process = new ProcessBuilder("bash", "scripts/make-test-certs.sh", certs.toString())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "make-test-certs.sh did not finish");
        assertEquals(0, process.exitValue(), output);
        for (String file : List.of("node-keystore.p12", "truststore.p12", "rogue/node-keystore.p12", "rogue/truststore.p12")) {
            assertTrue(Files.size(certs.resolve(file)) > 0, file + " missing; script said:\n" + output);
        }
    }

    /** The repository's configuration on a free port, with eapo.node.tls overridden as given. */
    static Config nodeConfig(Map<String, Object> tls) {
        Map<String, Object> overrides = new java.util.HashMap<>();
        tls.forEach((k, v) -> overrides.put("eapo.node.tls." + k, v));
        overrides.put("pekko.remote.artery.canonical.port", 0);
        overrides.put("pekko.remote.artery.canonical.hostname", "127.0.0.1");
        overrides.put("pekko.cluster.seed-nodes", List.of());
        overrides.put("pekko.loglevel", "WARNING");
        return ConfigFactory.parseMap(overrides).withFallback(ConfigFactory.load());
    }

    static Config tlsNode(Path dir) {
        return tlsNode(dir, false);
    }

    static Config tlsNode(Path dir, boolean hostnameVerification) {
        return ArteryTls.apply(nodeConfig(Map.of("enabled", true,
                "key-store", dir.resolve("node-keystore.p12").toString(),
                "trust-store", dir.resolve("truststore.p12").toString(),
                "hostname-verification", hostnameVerification)));
    }

    static Address address(ActorSystem<?> system) {
        return Cluster.get(system).selfMember().address();
    }

    static boolean isUpMember(ActorSystem<?> observer, Address address) {
        return StreamSupport.stream(Cluster.get(observer).state().getMembers().spliterator(), false)
                .anyMatch(m -> m.address().equals(address) && m.status() == MemberStatus.up());
    }

    static boolean isMember(ActorSystem<?> observer, Address address) {
        for (Member m : Cluster.get(observer).state().getMembers()) {
            if (m.address().equals(address)) {
                return true;
            }
        }
        return false;
    }

    static void awaitUntil(long timeoutMs, java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeoutMs + " ms: " + what);
            }
            Thread.sleep(100);
        }
    }

    static void terminateAll(List<ActorSystem<?>> systems) throws Exception {
        systems.forEach(ActorSystem::terminate);
        for (ActorSystem<?> system : systems) {
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aNodeWithTheClusterCertificateJoinsAndOneWithAWrongCertificateIsRefused() throws Exception {
        List<ActorSystem<?>> systems = new ArrayList<>();
        try {
            Config good = tlsNode(certs);
            assertEquals("tls-tcp", good.getString("pekko.remote.artery.transport"));
            assertTrue(good.getBoolean(ArteryTls.ENGINE + ".require-mutual-authentication"));

            ActorSystem<Void> first = ActorSystem.create(Behaviors.empty(), "eapo", good);
            systems.add(first);
            Address firstAddress = address(first);
            Cluster.get(first).manager().tell(Join.create(firstAddress));
            awaitUntil(15_000, () -> isUpMember(first, firstAddress), "the first node is Up");

            // The second node also checks that the first one's certificate names 127.0.0.1 (the script's SAN).
            Config secondConfig = tlsNode(certs, true);
            assertTrue(secondConfig.getBoolean(ArteryTls.ENGINE + ".hostname-verification"));
            ActorSystem<Void> second = ActorSystem.create(Behaviors.empty(), "eapo", secondConfig);
            systems.add(second);
            Address secondAddress = address(second);
            Cluster.get(second).manager().tell(Join.create(firstAddress));
            awaitUntil(20_000, () -> isUpMember(first, secondAddress) && isUpMember(second, firstAddress),
                    "the second node (same CA) joins over TLS");
            assertEquals("tls-tcp", second.settings().config().getString("pekko.remote.artery.transport"));

            // The TLS layer itself: the first node's server side accepts a client with the cluster's certificate
            // and refuses one with the rogue CA's certificate or with none (require-mutual-authentication).
            int port = firstAddress.getPort().orElseThrow();
            assertEquals("accepted", handshake(clientContext(certs, true), port));
            String rogueCertificate = handshake(clientContext(certs.resolve("rogue"), true), port);
            assertTrue(rogueCertificate.contains("bad_certificate"), "rogue certificate: " + rogueCertificate);
            String noCertificate = handshake(clientContext(certs, false), port);
            assertTrue(noCertificate.contains("certificate"), "no certificate: " + noCertificate);

            // A node whose certificate comes from another CA (its trust store trusts both CAs, so it is the real
            // nodes' check of its certificate that must keep it out), and a node without TLS at all.
            ActorSystem<Void> rogue = ActorSystem.create(Behaviors.empty(), "eapo", tlsNode(certs.resolve("rogue")));
            systems.add(rogue);
            ActorSystem<Void> plain = ActorSystem.create(Behaviors.empty(), "eapo", nodeConfig(Map.of("enabled", false)));
            systems.add(plain);
            assertEquals("tcp", plain.settings().config().getString("pekko.remote.artery.transport"));
            Address rogueAddress = address(rogue);
            Address plainAddress = address(plain);
            Cluster.get(rogue).manager().tell(Join.create(firstAddress));
            Cluster.get(plain).manager().tell(Join.create(firstAddress));

            long until = System.nanoTime() + 8_000_000_000L;
            while (System.nanoTime() < until) {
                for (ActorSystem<?> member : List.of(first, second)) {
                    assertFalse(isMember(member, rogueAddress), "a member sees the rogue-certificate node");
                    assertFalse(isMember(member, plainAddress), "a member sees the node without TLS");
                }
                Thread.sleep(200);
            }
            assertFalse(isMember(rogue, firstAddress), "the rogue-certificate node sees the cluster");
            assertFalse(isMember(plain, firstAddress), "the node without TLS sees the cluster");
            assertTrue(Cluster.get(rogue).selfMember().status() != MemberStatus.up());
            assertTrue(Cluster.get(plain).selfMember().status() != MemberStatus.up());
            assertEquals(2, StreamSupport.stream(Cluster.get(first).state().getMembers().spliterator(), false).count(),
                    "the cluster is still the two good nodes");
        } finally {
            terminateAll(systems);
        }
    }

    @Test
    void disabledLeavesTheConfigurationAsItIs() {
        Config config = nodeConfig(Map.of("enabled", false, "key-store", "/nowhere/missing.p12"));
        assertSame(config, ArteryTls.apply(config));
        assertEquals("tcp", ArteryTls.apply(config).getString("pekko.remote.artery.transport"));
    }

    @Test
    void aMissingKeyStoreNamesTheKeyAndThePath() {
        Path missing = certs.resolve("nope/node-keystore.p12");
        UserInputException e = assertThrows(UserInputException.class, () -> ArteryTls.apply(nodeConfig(Map.of(
                "enabled", true, "key-store", missing.toString(),
                "trust-store", certs.resolve("truststore.p12").toString()))));
        assertTrue(e.getMessage().startsWith("eapo.node.tls.key-store = " + missing + ": no such file"), e.getMessage());
        assertTrue(e.getMessage().contains("scripts/make-test-certs.sh"), e.getMessage());

        UserInputException trust = assertThrows(UserInputException.class, () -> ArteryTls.apply(nodeConfig(Map.of(
                "enabled", true, "key-store", certs.resolve("node-keystore.p12").toString(),
                "trust-store", "no-such-dir/truststore.p12"))));
        assertTrue(trust.getMessage().startsWith("eapo.node.tls.trust-store = no-such-dir/truststore.p12: no such file ("
                + Path.of("no-such-dir/truststore.p12").toAbsolutePath() + ")"), trust.getMessage());
    }

    @Test
    void aWrongPasswordOrUnusableSettingIsNamed() throws IOException {
        Map<String, Object> base = Map.of("key-store", certs.resolve("node-keystore.p12").toString(),
                "trust-store", certs.resolve("truststore.p12").toString());
        assertTrue(ArteryTls.apply(withTls(base, "enabled", true)).hasPath(ArteryTls.ENGINE + ".key-store"));
        assertMessage("eapo.node.tls.key-store = " + certs.resolve("node-keystore.p12") + ": wrong password",
                withTls(base, "key-store-password", "wrong"));
        assertMessage("eapo.node.tls.trust-store = " + certs.resolve("truststore.p12") + ": wrong password",
                withTls(base, "trust-store-password", "wrong"));
        assertMessage("eapo.node.tls.protocol = TLSv1.1: expected one of", withTls(base, "protocol", "TLSv1.1"));
        assertMessage("eapo.node.tls.enabled-algorithms: TLS_NOT_A_SUITE is not a cipher suite",
                withTls(base, "enabled-algorithms", List.of("TLS_AES_128_GCM_SHA256", "TLS_NOT_A_SUITE")));
        assertMessage("eapo.node.tls.enabled-algorithms: none is a TLSv1.3 cipher suite",
                withTls(base, "enabled-algorithms", List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")));
        // A trust store is not a key store: it holds no private key.
        assertMessage("eapo.node.tls.key-store = " + certs.resolve("truststore.p12") + ": holds no private key",
                withTls(base, "key-store", certs.resolve("truststore.p12").toString()));
        Path notAStore = Files.writeString(certs.resolve("not-a-store.p12"), "hello");
        assertMessage("eapo.node.tls.trust-store = " + notAStore + ": not a readable key store",
                withTls(base, "trust-store", notAStore.toString()));
    }

    /** A TLS client context with the key store of {@code dir} (or no certificate at all) trusting both CAs. */
    static SSLContext clientContext(Path dir, boolean withCertificate) throws Exception {
        char[] password = "changeit".toCharArray();
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        KeyStore keyStore = KeyStore.getInstance("PKCS12");
        if (withCertificate) {
            try (InputStream in = Files.newInputStream(dir.resolve("node-keystore.p12"))) {
                keyStore.load(in, password);
            }
        } else {
            keyStore.load(null, password);
        }
        keys.init(keyStore, password);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(certs.resolve("rogue/truststore.p12"))) {
            trust.load(in, password);
        }
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(keys.getKeyManagers(), trustManagers.getTrustManagers(), null);
        return context;
    }

    /**
     * "accepted" when the server takes the connection (it then waits for Artery's header: the read times out),
     * else the TLS error. With TLS 1.3 the server's verdict on the client's certificate arrives at the first read.
     */
    static String handshake(SSLContext context, int port) throws IOException {
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(1500);
            try {
                socket.startHandshake();
                int read = socket.getInputStream().read();
                return read < 0 ? "closed by the server" : "accepted";
            } catch (SocketTimeoutException e) {
                return "accepted";
            } catch (SSLException e) {
                return e.toString();
            }
        }
    }

    static Config withTls(Map<String, Object> base, String key, Object value) {
        Map<String, Object> tls = new java.util.HashMap<>(base);
        tls.put("enabled", true);
        tls.put(key, value);
        return nodeConfig(tls);
    }

    static void assertMessage(String start, Config config) {
        UserInputException e = assertThrows(UserInputException.class, () -> ArteryTls.apply(config));
        assertTrue(e.getMessage().startsWith(start), "expected \"" + start + "...\", got: " + e.getMessage());
        assertFalse(e.getMessage().contains("changeit"), "a message shows a password: " + e.getMessage());
    }
}
