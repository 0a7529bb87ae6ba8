// Header-only: see include/CAgentRuntime.h. SwiftPM needs one source file per C target.
