/// The version of this build of Tender, reported by agents in hello and by `--version`.
public enum TenderVersion {
    public static let current = "0.1.0"
}
