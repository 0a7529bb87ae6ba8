import Foundation
import TenderAPI
import TenderWire

/// The controller's persistent state. One interface, two implementations
/// (SQLite embedded, PostgreSQL for several replicas), both checked by the same
/// test suite, so capabilities are written once against this protocol.
///
/// It is the sum of its areas: the code that opens the store holds all of it, and
/// each service takes only the areas it uses, so what a service can change is in
/// its signature and a test's stand-in implements that much.
public protocol Store: StoreLifecycle, ActivationStore, InstanceStore, DocumentStore, CommandStore, ReplicaStore, TokenStore, PatchStore, ComplianceStore {}
