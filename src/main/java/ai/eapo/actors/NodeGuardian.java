package ai.eapo.actors;

import ai.eapo.UserInputException;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;

import java.util.concurrent.CompletableFuture;

/**
 * The guardian of one node of a run: starts the parts of the node's roles ({@link Pipeline#startRoles}) and
 * ends the node's part of the run. {@code done} completes when the run is over for this node: on the
 * learner's node after its last step (the learner's listener completes it), elsewhere when the learner's
 * node announces {@link RunFinished} on the cluster-wide run topic. It fails if the learner stops early, and
 * with the reason when a part of the node stops on a configuration the run refused (a {@link UserInputException}:
 * sampling settings that differ from the learner's or the prior's, say). A node whose learner crashed keeps
 * waiting: a restarted learner resumes the run with it.
 */
public final class NodeGuardian {

    public sealed interface Command {
    }

    /** The learner's last step is done: every node of the run may stop. */
    public record RunFinished(long steps) implements Command, CborSerializable {
    }

    /** Told by the learner's node once its run is over: publish {@link RunFinished} to the other nodes. */
    public record AnnounceFinished(long steps) implements Command {
    }

    private NodeGuardian() {
    }

    private static void learnerStopped(CompletableFuture<Void> done) {
        done.completeExceptionally(new IllegalStateException("the learner stopped before the run finished; see the log above"));
    }

    public static Behavior<Command> create(Pipeline.Setup setup, CompletableFuture<Void> done) {
        return Behaviors.setup(context -> {
            ActorRef<Topic.Command<Command>> runTopic =
                    context.spawn(Topic.create(Command.class, "eapo-run"), "run-topic");
            runTopic.tell(Topic.subscribe(context.getSelf()));
            ActorRef<Learner.Command> learner = Pipeline.startRoles(setup, new Pipeline.Spawner() {
                @Override
                public <T> ActorRef<T> spawn(Behavior<T> behavior, String name, Props props) {
                    ActorRef<T> part = context.spawn(behavior, name, props);
                    context.watch(part);
                    return part;
                }
            });
            boolean hasLearner = learner != null;
            return Behaviors.receive(Command.class)
                    .onMessage(AnnounceFinished.class, a -> {
                        runTopic.tell(Topic.publish(new RunFinished(a.steps())));
                        return Behaviors.same();
                    })
                    .onMessage(RunFinished.class, f -> {
                        if (!hasLearner) {
                            context.getLog().info("the run finished after {} steps; this node stops", f.steps());
                            done.complete(null);
                        }
                        return Behaviors.same();
                    })
                    .onSignal(ChildFailed.class, failed -> {
                        if (failed.getCause() instanceof UserInputException refused) {
                            context.getLog().error("this node stops: {}", refused.getMessage());
                            done.completeExceptionally(refused);
                        } else if (failed.getRef().equals(learner)) {
                            learnerStopped(done);
                        }
                        return Behaviors.same();
                    })
                    .onSignal(Terminated.class, stopped -> {
                        if (stopped.getRef().equals(learner)) {
                            learnerStopped(done);
                        }
                        return Behaviors.same();
                    })
                    .build();
        });
    }
}
