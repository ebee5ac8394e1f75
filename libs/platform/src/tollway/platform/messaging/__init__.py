"""Reliable messaging over NATS JetStream: namespaces, provisioning, publisher, outbox, inbox, pull consumers."""

from tollway.platform.messaging.connection import connect_nats, ensure_bucket, ensure_stream, nats_connection, provision
from tollway.platform.messaging.consumer import USAGE_LINGER_S, ConsumerSpec, PoisonMessage, PullConsumer
from tollway.platform.messaging.dead_letters import DeadLetterRecorder
from tollway.platform.messaging.durable_publisher import DurablePublisher
from tollway.platform.messaging.inbox import claim_events
from tollway.platform.messaging.namespace import Namespace
from tollway.platform.messaging.outbox import OutboxRelay, RelayResult, add_to_outbox, outbox_row
from tollway.platform.messaging.outbox_writer import GroupCommitOutbox
from tollway.platform.messaging.publisher import JetStreamPublisher
from tollway.platform.messaging.tables import MessagingTables

__all__ = [
    "USAGE_LINGER_S",
    "ConsumerSpec",
    "DeadLetterRecorder",
    "DurablePublisher",
    "GroupCommitOutbox",
    "JetStreamPublisher",
    "MessagingTables",
    "Namespace",
    "OutboxRelay",
    "PoisonMessage",
    "PullConsumer",
    "RelayResult",
    "add_to_outbox",
    "claim_events",
    "connect_nats",
    "ensure_bucket",
    "ensure_stream",
    "nats_connection",
    "outbox_row",
    "provision",
]
