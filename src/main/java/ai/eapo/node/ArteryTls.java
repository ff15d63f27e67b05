package ai.eapo.node;

import ai.eapo.UserInputException;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.UnrecoverableKeyException;
import java.security.cert.Certificate;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Artery TLS from the one switch {@code eapo.node.tls.enabled}: {@link #apply} turns the {@code eapo.node.tls}
 * section into Pekko's {@code pekko.remote.artery.transport = tls-tcp} and
 * {@code pekko.remote.artery.ssl.config-ssl-engine} settings (mutual authentication always on), after checking
 * that the key store and trust store exist, open with their passwords and hold what TLS needs, so that a
 * mistake is one line naming the config key instead of a failed handshake at the first connection.
 */
public final class ArteryTls {

    static final String TLS = "eapo.node.tls";
    static final String ENGINE = "pekko.remote.artery.ssl.config-ssl-engine";
    static final Set<String> PROTOCOLS = Set.of("TLSv1.3", "TLSv1.2");

    private ArteryTls() {
    }

    /** Whether {@code eapo.node.tls.enabled} is on (absent = off). */
    public static boolean enabled(Config config) {
        return config.hasPath(TLS + ".enabled") && config.getBoolean(TLS + ".enabled");
    }

    /**
     * The configuration an actor system of this node starts with: unchanged when TLS is off; otherwise overlaid
     * with the Artery TLS transport. Throws {@link UserInputException} naming the key when a store is missing,
     * unreadable, has a wrong password or lacks a key / certificate, or the protocol or cipher suites are not usable.
     */
    public static Config apply(Config config) {
        if (!enabled(config)) {
            return config;
        }
        Path keyStorePath = file(config, "key-store");
        Path trustStorePath = file(config, "trust-store");
        String keyStorePassword = string(config, "key-store-password");
        String keyPassword = string(config, "key-password");
        String trustStorePassword = string(config, "trust-store-password");
        String protocol = string(config, "protocol");
        List<String> algorithms = algorithms(config, protocol);
        boolean hostnameVerification = config.hasPath(TLS + ".hostname-verification")
                && config.getBoolean(TLS + ".hostname-verification");

        checkKeyStore(config, keyStorePath, keyStorePassword, keyPassword);
        checkTrustStore(config, trustStorePath, trustStorePassword);

        Map<String, Object> engine = new HashMap<>();
        engine.put("key-store", keyStorePath.toString());
        engine.put("key-store-password", keyStorePassword);
        engine.put("key-password", keyPassword);
        engine.put("trust-store", trustStorePath.toString());
        engine.put("trust-store-password", trustStorePassword);
        engine.put("protocol", protocol);
        engine.put("enabled-algorithms", algorithms);
        engine.put("require-mutual-authentication", true);
        engine.put("hostname-verification", hostnameVerification);
        engine.put("random-number-generator", "");
        Map<String, Object> overlay = new HashMap<>();
        overlay.put("pekko.remote.artery.transport", "tls-tcp");
        overlay.put("pekko.remote.artery.ssl.ssl-engine-provider", "org.apache.pekko.remote.artery.tcp.ConfigSSLEngineProvider");
        overlay.put(ENGINE, engine);
        return ConfigFactory.parseMap(overlay, "eapo.node.tls (ai.eapo.node.ArteryTls)").withFallback(config);
    }

    private static String string(Config config, String key) {
        try {
            return config.getString(TLS + "." + key);
        } catch (ConfigException.Missing e) {
            throw new UserInputException(TLS + "." + key + " is not set (needed with " + TLS + ".enabled = on)");
        } catch (ConfigException.WrongType e) {
            throw new UserInputException(TLS + "." + key + ": expected a string");
        }
    }

    /** The path of a store as an absolute path (relative ones resolve against the working directory), readable. */
    private static Path file(Config config, String key) {
        String value = string(config, key);
        String shown = TLS + "." + key + " = " + value;
        if (value.isBlank()) {
            throw new UserInputException(TLS + "." + key + " is empty (needed with " + TLS + ".enabled = on)");
        }
        Path path = Path.of(value).toAbsolutePath().normalize();
        if (!Files.exists(path)) {
            Path parent = Path.of(value).getParent();
            throw new UserInputException(shown + ": no such file" + (Path.of(value).isAbsolute() ? "" : " (" + path + ")")
                    + "; run scripts/make-test-certs.sh " + (parent == null ? "." : parent.toString())
                    + " for test certificates");
        }
        if (!Files.isRegularFile(path)) {
            throw new UserInputException(shown + ": not a file");
        }
        if (!Files.isReadable(path)) {
            throw new UserInputException(shown + ": not readable by this user");
        }
        return path;
    }

    private static List<String> algorithms(Config config, String protocol) {
        if (!PROTOCOLS.contains(protocol)) {
            throw new UserInputException(TLS + ".protocol = " + protocol + ": expected one of TLSv1.3, TLSv1.2");
        }
        List<String> algorithms;
        try {
            algorithms = config.getStringList(TLS + ".enabled-algorithms");
        } catch (ConfigException.Missing e) {
            throw new UserInputException(TLS + ".enabled-algorithms is not set (needed with " + TLS + ".enabled = on)");
        } catch (ConfigException.WrongType e) {
            throw new UserInputException(TLS + ".enabled-algorithms: expected a list of cipher suite names");
        }
        Set<String> supported;
        try {
            supported = new LinkedHashSet<>(List.of(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM has no default TLS implementation", e);
        }
        for (String algorithm : algorithms) {
            if (!supported.contains(algorithm)) {
                throw new UserInputException(TLS + ".enabled-algorithms: " + algorithm
                        + " is not a cipher suite this JVM supports");
            }
        }
        // TLS 1.3 suites are named without a key exchange (TLS_AES_128_GCM_SHA256); TLS 1.2 ones with one (..._WITH_...).
        boolean tls13 = protocol.equals("TLSv1.3");
        if (algorithms.stream().noneMatch(a -> a.contains("_WITH_") != tls13)) {
            throw new UserInputException(TLS + ".enabled-algorithms: none is a " + protocol + " cipher suite (e.g. "
                    + (tls13 ? "TLS_AES_256_GCM_SHA384" : "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384") + ")");
        }
        return algorithms;
    }

    private static KeyStore load(Config config, String key, Path path, String password) {
        String shown = TLS + "." + key + " = " + config.getString(TLS + "." + key);
        try (InputStream in = Files.newInputStream(path)) {
            // The same store type Pekko's ConfigSSLEngineProvider uses (PKCS12 on Java 9+, which also reads JKS).
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(in, password.toCharArray());
            return store;
        } catch (IOException e) {
            if (e.getCause() instanceof UnrecoverableKeyException) {
                throw new UserInputException(shown + ": wrong password (" + TLS + "." + key + "-password)");
            }
            throw new UserInputException(shown + ": not a readable key store (" + e.getMessage() + ")", e);
        } catch (GeneralSecurityException e) {
            throw new UserInputException(shown + ": cannot be loaded (" + e.getMessage() + ")", e);
        }
    }

    private static void checkKeyStore(Config config, Path path, String storePassword, String keyPassword) {
        KeyStore store = load(config, "key-store", path, storePassword);
        String shown = TLS + ".key-store = " + config.getString(TLS + ".key-store");
        try {
            boolean found = false;
            for (String alias : Collections.list(store.aliases())) {
                if (!store.isKeyEntry(alias)) {
                    continue;
                }
                Key key;
                try {
                    key = store.getKey(alias, keyPassword.toCharArray());
                } catch (UnrecoverableKeyException e) {
                    throw new UserInputException(shown + ": the key \"" + alias + "\" does not open with "
                            + TLS + ".key-password");
                }
                if (!(key instanceof PrivateKey)) {
                    continue;
                }
                Certificate certificate = store.getCertificate(alias);
                if (certificate instanceof X509Certificate x509) {
                    try {
                        x509.checkValidity();
                    } catch (CertificateExpiredException e) {
                        throw new UserInputException(shown + ": the certificate of \"" + alias + "\" expired on "
                                + x509.getNotAfter().toInstant());
                    } catch (CertificateNotYetValidException e) {
                        throw new UserInputException(shown + ": the certificate of \"" + alias + "\" is valid only from "
                                + x509.getNotBefore().toInstant() + " (check this machine's clock)");
                    }
                }
                found = true;
            }
            if (!found) {
                throw new UserInputException(shown + ": holds no private key with a certificate (this node's identity)");
            }
        } catch (GeneralSecurityException e) {
            throw new UserInputException(shown + ": cannot be read (" + e.getMessage() + ")", e);
        }
    }

    private static void checkTrustStore(Config config, Path path, String password) {
        KeyStore store = load(config, "trust-store", path, password);
        try {
            for (String alias : Collections.list(store.aliases())) {
                if (store.isCertificateEntry(alias)) {
                    return;
                }
            }
        } catch (GeneralSecurityException e) {
            throw new UserInputException(TLS + ".trust-store = " + config.getString(TLS + ".trust-store")
                    + ": cannot be read (" + e.getMessage() + ")", e);
        }
        throw new UserInputException(TLS + ".trust-store = " + config.getString(TLS + ".trust-store")
                + ": holds no trusted certificate (the CA that signs the nodes' certificates)");
    }
}
