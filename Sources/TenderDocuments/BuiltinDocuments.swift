/// The documents every controller has, read-only, under fixed names.
///
/// They are written as YAML and go through the same parser as operators'
/// documents, so they cannot use anything a user document could not, and the
/// text can be shown by `tender document show` as it is.
public enum BuiltinDocuments {
    public static let runShellScriptName = "Tender-RunShellScript"
    public static let runPatchBaselineName = "Tender-RunPatchBaseline"

    /// The YAML text of each built-in document, by name.
    public static let texts: [String: String] = [
        runShellScriptName: runShellScriptText,
        runPatchBaselineName: runPatchBaselineText,
    ]

    /// Built-in names in the order they are listed.
    public static let names = [runShellScriptName, runPatchBaselineName]

    /// Each built-in document, parsed once.
    public static let documents: [String: CommandDocument] = [
        runShellScriptName: runShellScript,
        runPatchBaselineName: runPatchBaseline,
    ]

    /// Built-in texts are part of the program, not input: one that does not parse is
    /// a programming error caught by the tests, so it stops the program.
    private static func parseBuiltin(_ text: String) -> CommandDocument {
        do {
            return try DocumentParser.parse(text: text, format: .yaml)
        } catch {
            fatalError("a built-in document does not parse: \(error)")
        }
    }

    public static func document(named name: String) -> CommandDocument? { documents[name] }

    /// Whether `name` is taken by a built-in document (which cannot be created,
    /// updated or deleted).
    public static func isBuiltin(_ name: String) -> Bool { texts[name] != nil }

    public static let runShellScript: CommandDocument = parseBuiltin(runShellScriptText)
    public static let runPatchBaseline: CommandDocument = parseBuiltin(runPatchBaselineText)

    // `executionTimeout` is a String of seconds, as in AWS-RunShellScript; the
    // pattern admits 1...172800, and the step's own 5-second minimum is checked
    // after interpolation.
    static let runShellScriptText = """
        schemaVersion: '2.2'
        description: Run shell commands on Linux instances. Each line of 'commands' becomes one line of a script run with sh.
        parameters:
          commands:
            type: StringList
            description: one shell line each
            minItems: 1
          workingDirectory:
            type: String
            default: ''
            description: directory to run the commands in; empty for the agent's default
          executionTimeout:
            type: String
            default: '3600'
            description: seconds the script may run before it is stopped (at most 172800)
            allowedPattern: '([1-9][0-9]{0,4})|(1[0-6][0-9]{4})|(17[0-1][0-9]{3})|(172[0-7][0-9]{2})|(172800)'
        mainSteps:
          - action: aws:runShellScript
            name: runShellScript
            inputs:
              runCommand: '{{ commands }}'
              workingDirectory: '{{ workingDirectory }}'
              timeoutSeconds: '{{ executionTimeout }}'

        """

    static let runPatchBaselineText = """
        schemaVersion: '2.2'
        description: Scan for missing patches, or install them, using the instance's patch baseline.
        parameters:
          operation:
            type: String
            description: Scan reports compliance only; Install also installs missing patches
            allowedValues: [Scan, Install]
          rebootOption:
            type: String
            description: RebootIfNeeded reboots after an install that needs it; NoReboot never reboots
            allowedValues: [RebootIfNeeded, NoReboot]
            default: RebootIfNeeded
          installOverrideList:
            type: StringList
            description: packages (NAME or NAME=VERSION) to install instead of what the baseline approves; rejected packages are never installed
            default: []
        mainSteps:
          - action: tender:runPatchBaseline
            name: PatchLinux
            precondition:
              StringEquals: [platformType, Linux]
            inputs:
              operation: '{{ operation }}'
              rebootOption: '{{ rebootOption }}'
              installOverrideList: '{{ installOverrideList }}'

        """
}
