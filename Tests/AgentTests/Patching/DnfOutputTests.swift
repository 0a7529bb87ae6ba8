import Foundation
import Testing
@testable import Agent

/// How the dnf backend reads dnf's and rpm's output, on text captured from dnf
/// 4.14 and rpm 4.18 (the real runs are in `DnfPatchTests`).
@Suite("dnf output")
struct DnfOutputTests {
    /// `dnf -v updateinfo list --updates`, with the verbose lines dnf prints first.
    static let listing = """
        DNF version: 4.14.0
        cachedir: /tmp/root/var/cache/dnf
        User-Agent: constructed: 'libdnf (Debian GNU/Linux 12; generic; Linux.x86_64)'
        repo: using cache for: updates
        updates: using metadata from Tue Dec  8 00:40:40 2026.
        Last metadata expiration check: 0:18:44 ago on Tue Dec  8 00:41:30 2026.
        RHSA-2026:0001 Important/Sec. openssl-libs-1:3.0.7-25.el9_3.x86_64 2026-11-02 00:00:00
        RHSA-2026:0007 Critical/Sec.  openssl-libs-1:3.0.7-27.el9_3.x86_64 2026-11-20 08:30:00
        RHSA-2026:0008 Low/Sec.       openssl-libs-1:3.0.7-28.el9_3.x86_64 2026-12-01 00:00:00
        RHBA-2026:0002 bugfix         tzdata-2026a-1.el9.noarch            2026-12-01 10:00:00
        RHEA-2026:0003 enhancement    tzdata-2026b-1.el9.noarch            1970-01-01 00:00:00
        RHSA-2026:0009 Unknown/Sec.   vim-minimal-2:8.2.2637-20.el9_1.x86_64 2026-10-01 00:00:00
        """

    @Test func advisoriesByPackage() throws {
        let advisories = DnfAdvisories(listing: Self.listing)
        let openssl = try #require(advisories.strongest(for: "openssl-libs", architecture: "x86_64"))
        #expect(openssl.id == "RHSA-2026:0007", "the Critical one of three")
        #expect(openssl.classification == "Security")
        #expect(openssl.severity == "Critical")
        #expect(openssl.package.evr == "1:3.0.7-27.el9_3")
        #expect(openssl.releasedAt == DnfAdvisories.date("2026-12-01 00:00:00"), "dated by the newest advisory the update ships")
        let tzdata = try #require(advisories.strongest(for: "tzdata", architecture: "noarch"))
        #expect(tzdata.classification == "Bugfix", "a bug fix outranks an enhancement")
        #expect(tzdata.severity == nil)
        #expect(advisories.strongest(for: "vim-minimal", architecture: "x86_64")?.severity == nil, "Unknown/Sec. has no severity")
        #expect(advisories.strongest(for: "tzdata", architecture: "x86_64") == nil, "another architecture")
        #expect(advisories.byPackage.count == 3, "the verbose lines are not advisories")
    }

    @Test func datesAreUTCAndTheEpochIsNone() throws {
        let date = try #require(DnfAdvisories.date("2026-11-02 00:00:00"))
        #expect(date.timeIntervalSince1970 == 1_793_577_600)
        #expect(DnfAdvisories.date("1970-01-01 00:00:00") == nil)
        #expect(DnfAdvisories.date("2026-11-02") == nil)
        #expect(DnfAdvisories.date("garbage") == nil)
    }

    @Test func nevraNames() throws {
        let plain = try #require(RPMName(nevra: "hello-1.1-1.noarch"))
        #expect(plain == RPMName(name: "hello", epoch: 0, version: "1.1", release: "1", architecture: "noarch"))
        #expect(plain.evr == "1.1-1")
        let epoch = try #require(RPMName(nevra: "python3-dnf-plugin-post-transaction-actions-1:4.3.0-11.el9.noarch"))
        #expect(epoch.name == "python3-dnf-plugin-post-transaction-actions")
        #expect(epoch.evr == "1:4.3.0-11.el9")
        for bad in ["hello", "hello-1.1", "hello-1.1-1", "-1.1-1.noarch", "hello-x:1.1-1.noarch", "hello-1.1-.noarch"] {
            #expect(RPMName(nevra: bad) == nil, "\(bad)")
        }
    }

    @Test func rpmQueryLines() {
        #expect(DnfBackend.rpmName("bash\t0\t5.1.8\t6.el9_1\tx86_64\t1796690440")?.evr == "5.1.8-6.el9_1")
        #expect(DnfBackend.rpmName("shadow-utils\t2\t4.9\t8.el9\tx86_64\t1796690440")?.evr == "2:4.9-8.el9")
        #expect(DnfBackend.rpmName("gpg-pubkey\t(none)\t3228467c\t613798eb\t(none)\t1796690440") == nil, "no architecture: a signing key")
        #expect(DnfBackend.rpmName("broken\t0") == nil)
    }

    @Test func failureMessagesKeepDnfsErrorAndProblems() {
        let result = PackageTool.Result(exitCode: 1, stdout: "", stderr: """
            Tender test updates                             1.9 MB/s | 2.0 kB     00:00
            Errors during downloading metadata for repository 'updates':
              - Curl error (37): Couldn't read a file:// file for file:///srv/updates/repodata/repomd.xml
            Error: Failed to download metadata for repo 'updates': Cannot download repomd.xml
            """)
        let message = DnfBackend.errors(in: result)
        #expect(message.hasPrefix("Error: Failed to download metadata for repo 'updates'"))
        #expect(message.hasSuffix("(exit 1)"))
        let quiet = DnfBackend.errors(in: PackageTool.Result(exitCode: nil, stdout: "", stderr: ""))
        #expect(quiet == "killed by a signal")
    }
}
