import Foundation
import Testing
import TenderPatching
import TenderWire

/// What a baseline may hold: every problem is reported at once, named by its path.
@Suite("Patch baseline validation")
struct PatchBaselineValidationTests {
    @Test func predefinedBaselinesAreValid() {
        for baseline in PredefinedBaselines.all {
            #expect(baseline.problems.isEmpty, "\(baseline.id): \(baseline.problems)")
            #expect(PredefinedBaselines.isPredefined(baseline.id))
        }
        #expect(PredefinedBaselines.id(for: .redhatEnterpriseLinux) == "pb-default-redhat-enterprise-linux")
        #expect(!PredefinedBaselines.isPredefined("pb-0123"))
    }

    @Test func filterKeysFollowThePackageFamily() {
        let debian = PatchBaseline(id: "x", name: "x", operatingSystem: .debian,
                                   approvalRules: [ApprovalRule(filters: [PatchFilter(key: .classification, values: ["Security"])])])
        #expect(debian.problems.map(\.description) == ["approvalRules[0].filters[0]: DEBIAN packages have no CLASSIFICATION; filter on PRODUCT, PRIORITY, SECTION, NAME"])
        let rocky = PatchBaseline(id: "x", name: "x", operatingSystem: .rockyLinux, globalFilters: [PatchFilter(key: .section, values: ["admin"])])
        #expect(rocky.problems.map(\.description) == ["globalFilters[0]: ROCKY_LINUX packages have no SECTION; filter on PRODUCT, CLASSIFICATION, SEVERITY, NAME"])
    }

    @Test func everyProblemIsReportedWithItsPath() {
        let baseline = PatchBaseline(
            id: "x", name: "x", operatingSystem: .ubuntu,
            approvalRules: [
                ApprovalRule(filters: []),
                ApprovalRule(filters: [PatchFilter(key: .priority, values: ["required"]), PatchFilter(key: .priority, values: ["important"])], approveAfterDays: 7),
                ApprovalRule(filters: [PatchFilter(key: .name, values: [""])]),
            ],
            approvedPatches: [PackageSpec(name: "-rf"), PackageSpec(name: "ok"), PackageSpec(name: "a;b")],
            rejectedPatches: [PackageSpec(name: "x", version: ""), PackageSpec(name: "y", version: "1.0 && reboot")])
        #expect(baseline.problems.map(\.path) == [
            "approvalRules[0].filters",
            "approvalRules[1].filters[1]",
            "approvalRules[1].approveAfterDays",
            "approvalRules[2].filters[0]",
            "approvedPatches[0]", "approvedPatches[2]",
            "rejectedPatches[0]", "rejectedPatches[1]",
        ])
    }

    @Test func bounds() {
        let rule = ApprovalRule(filters: [PatchFilter(key: .classification, values: ["Security"])], approveAfterDays: 361)
        let baseline = PatchBaseline(id: "x", name: "x", operatingSystem: .almaLinux, approvalRules: Array(repeating: rule, count: 11),
                                     approvedPatches: (0...PatchBaseline.maxListedPackages).map { PackageSpec(name: "p\($0)") })
        let messages = baseline.problems.map(\.description)
        #expect(messages.contains("approvalRules: 11 rules, at most 10"))
        #expect(messages.contains("approvalRules[0].approveAfterDays: 361 is not between 0 and 360"))
        #expect(messages.contains("approvedPatches: 1001 packages, at most 1000"))
        let many = PatchFilter(key: .name, values: (0...PatchFilter.maxValues).map { "n\($0)" })
        var problems: [DocumentProblem] = []
        many.check(path: "f", problems: &problems)
        #expect(problems.map(\.description) == ["f: NAME has 101 values, at most 100"])
    }

    @Test func filtersParseFromTheCommandLineForm() {
        var problems: [DocumentProblem] = []
        #expect(PatchFilter.parse("PRIORITY=required, important", path: "approve[0]", problems: &problems) == PatchFilter(key: .priority, values: ["required", "important"]))
        #expect(PatchFilter.parse("section=admin", path: "approve[1]", problems: &problems) == PatchFilter(key: .section, values: ["admin"]))
        #expect(problems.isEmpty)
        #expect(PatchFilter.parse("PRIORITY", path: "approve[2]", problems: &problems) == nil)
        #expect(PatchFilter.parse("COLOUR=red", path: "approve[3]", problems: &problems) == nil)
        #expect(PatchFilter.parse("NAME=", path: "approve[4]", problems: &problems) == nil)
        #expect(problems.map(\.description) == [
            "approve[2]: \"PRIORITY\" is not KEY=VALUE[,VALUE...]",
            "approve[3]: unknown filter key \"COLOUR\"; one of PRODUCT, PRIORITY, SECTION, NAME, CLASSIFICATION, SEVERITY",
            "approve[4]: NAME needs one or more non-empty values",
        ])
    }

    @Test func packageSpecsParse() {
        var problems: [DocumentProblem] = []
        #expect(PackageSpec.parse("openssl", path: "a", problems: &problems) == PackageSpec(name: "openssl"))
        #expect(PackageSpec.parse("libssl3=3.0.11-1~deb12u2", path: "a", problems: &problems) == PackageSpec(name: "libssl3", version: "3.0.11-1~deb12u2"))
        #expect(PackageSpec.parse("kernel=1:5.14.0-362.el9", path: "a", problems: &problems)?.version == "1:5.14.0-362.el9")
        #expect(PackageSpec.parse("lib*-dev", path: "a", problems: &problems) == PackageSpec(name: "lib*-dev"))
        #expect(problems.isEmpty)
        for bad in ["", "--force", "a b", "a=", "$(reboot)", "a=1;2", String(repeating: "a", count: 301)] {
            var found: [DocumentProblem] = []
            #expect(PackageSpec.parse(bad, path: "a", problems: &found) == nil, "\(bad)")
            #expect(!found.isEmpty)
        }
    }

    @Test func wildcardsMatchWithoutBlowingUp() {
        let filter = PatchFilter(key: .name, values: ["lib*ssl*"])
        #expect(filter.matches("libssl3"))
        #expect(filter.matches("LIBOPENSSL-dev"))
        #expect(!filter.matches("openssl"))
        #expect(!filter.matches(nil))
        #expect(PatchFilter(key: .name, values: ["*"]).matches(nil))
        #expect(PatchFilter(key: .name, values: ["a?c"]).matches("a?c"), "only * is special")
        #expect(!PatchFilter(key: .name, values: ["a?c"]).matches("abc"))
        // A pattern built to make naive backtracking exponential answers at once.
        let hostile = PatchFilter(key: .name, values: [String(repeating: "a*", count: 100) + "b"])
        let start = ContinuousClock.now
        #expect(!hostile.matches(String(repeating: "a", count: 200)))
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func baselinesRoundTripAsJSON() throws {
        let baseline = PatchBaseline(id: "pb-1", name: "web", operatingSystem: .ubuntu,
                                     approvalRules: [ApprovalRule(filters: [PatchFilter(key: .priority, values: ["required"])], complianceLevel: .critical, enableNonSecurity: true)],
                                     globalFilters: [PatchFilter(key: .product, values: ["Ubuntu22.04"])],
                                     approvedPatches: [PackageSpec(name: "curl", version: "8")], rejectedPatches: [PackageSpec(name: "telnet")], rejectedPatchesAction: .block)
        let data = try JSONEncoder().encode(baseline)
        #expect(try JSONDecoder().decode(PatchBaseline.self, from: data) == baseline)
    }

    @Test func operatingSystemsFromOSRelease() {
        #expect(PatchOperatingSystem.from(osReleaseID: "debian") == .debian)
        #expect(PatchOperatingSystem.from(osReleaseID: "ubuntu") == .ubuntu)
        #expect(PatchOperatingSystem.from(osReleaseID: "rocky") == .rockyLinux)
        #expect(PatchOperatingSystem.from(osReleaseID: "linuxmint", idLike: ["ubuntu", "debian"]) == .debian)
        #expect(PatchOperatingSystem.from(osReleaseID: "arch") == nil)
        #expect(PatchOperatingSystem.debian.family == .apt)
        #expect(PatchOperatingSystem.fedora.family == .dnf)
    }
}
