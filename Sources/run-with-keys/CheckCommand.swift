import ArgumentParser
import Glibc
import Vault
import Profile
import Hygiene
import Launch
import Supervisor

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a profile, its command, its secrets and its seccomp policy; print the launch plan without values.",
        discussion: "Exit 0 when everything checks out, 125 on an error.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var which: ProfileOptions
    @Flag(help: "Print the plan as JSON.") var json = false

    func run() throws {
        let profile = try which.load(global)
        let prep = Preparation(global, profile: profile)
        prep.probeTree = true   // a launch lets its first spawn probe the PID namespace; check asks now
        let plan: LaunchPlan, findings: [KeyFinding]
        do { (plan, findings) = try prep.plan(arguments: [], warn: false) } catch let e as PlanError {
            throw CLIError(e.message, hints: e.hints)   // check reports every failure as 125
        }
        Output.out(json ? Self.json(plan, findings) : Self.text(plan, findings, vault: prep.store.path))
    }

    /// One warning per injected secret too short to be redacted.
    static func shortValueWarnings(_ plan: LaunchPlan) -> [String] {
        RedactionPatterns.tooShort(in: plan).map { RedactionPatterns.shortValueWarning(name: $0.name, count: $0.count) }
    }

    static func describe(_ v: PlannedVariable) -> String {
        switch v.source {
        case .inherited: return "inherited"
        case .set: return "set in profile"
        case .secret(let s): return "secret \(s)"
        case .secretFile(let s, let fd): return "secret \(s) (sealed memfd, /proc/self/fd/\(fd))"
        case .secretFd(let s, let fd): return "secret \(s) (sealed memfd on fd \(fd))"
        case .reloadableFile(let s, let path): return "secret \(s) (sealed memfd, \(path), replaced in place on reload)"
        case .template(let source, _, let fd): return "template \(source) (sealed memfd, /proc/self/fd/\(fd))"
        }
    }

    /// The memfd path a template's variable holds in the plan.
    static func templatePath(_ plan: LaunchPlan, _ t: TemplateSpec) -> String {
        for v in plan.variables where v.name == t.variable {
            if case .template(_, _, let fd) = v.source { return "/proc/self/fd/\(fd)" }
        }
        return "-"
    }

    /// `templates:` then one line per template: variable, source, format, secrets, memfd path.
    static func templatesText(_ plan: LaunchPlan) -> String {
        let templates = plan.profile.templates
        guard !templates.isEmpty else { return "" }
        var out = "templates (rendered into sealed memfds; values escaped for the format):\n"
        for t in templates {
            out += "  \(t.variable)  \(t.source) (\(t.format.rawValue)) secrets \(t.references.isEmpty ? "-" : t.references.joined(separator: ", "))"
                + " -> \(templatePath(plan, t))\n"
        }
        return out
    }

    static func limitText(_ l: LimitSpec) -> String {
        func v(_ x: LimitValue) -> String { if case .value(let n) = x { return String(n) } else { return "unlimited" } }
        return l.soft == l.hard ? "\(l.resource.rawValue)=\(v(l.soft))" : "\(l.resource.rawValue)=\(v(l.soft))/\(v(l.hard))"
    }

    static func sandboxText(_ p: Profile, _ plan: LaunchPlan) -> String {
        let s = p.sandbox
        let filter: String
        switch s.seccomp {
        case .none: filter = "none"
        case .default: filter = "default denylist" + (s.deny.isEmpty ? "" : " + " + s.deny.joined(separator: ",")) + (s.allow.isEmpty ? "" : " - " + s.allow.joined(separator: ","))
        case .policyFile(let path): filter = "allowlist from \(path)"
        }
        let bpf = plan.request.seccomp.map { " (\($0.instructionCount) BPF instructions)" } ?? ""
        return "seccomp \(filter)\(bpf), action \(s.action.rawValue), no_new_privileges \(s.noNewPrivileges), no_exec \(s.noExec)"
    }

    /// What the bot keeps of run-with-keys' capabilities(7), for `check`'s text.
    static func capabilitiesText(_ p: Profile) -> String {
        let kept = p.sandbox.capabilities.map(\.name)
        return (kept.isEmpty ? "none" : kept.joined(separator: ", ") + " kept")
            + " (every other one is dropped, from the bounding set too)"
    }

    static func text(_ plan: LaunchPlan, _ findings: [KeyFinding], vault: String) -> String {
        let p = plan.profile, r = p.restart
        var out = "profile:  \(p.name) (\(p.path))\n"
        if p.layers.count > 1 { out += "extends:  \(p.layers.dropFirst().joined(separator: ", then "))  (merged: tables key by key, arrays and values replace)\n" }
        if let d = p.description { out += "about:    \(d)\n" }
        out += "command:  \(([plan.request.executable] + plan.request.arguments.dropFirst()).joined(separator: " "))\n"
        if let w = p.workdir { out += "workdir:  \(w)\n" }
        if let c = plan.request.credentials {
            if let u = p.user { out += "user:     \(u) (uid \(c.uid), gid \(c.gid))\n" }
            else { out += "group:    \(p.group ?? "-") (gid \(c.gid); uid \(c.uid) unchanged)\n" }
        }
        out += "vault:    \(vault)\n"
        out += "environment (everything else is cleared):\n"
        let width = plan.variables.map(\.name.count).max() ?? 0
        for v in plan.variables { out += "  \(v.name)\(String(repeating: " ", count: width - v.name.count))  \(describe(v))\n" }
        out += templatesText(plan)
        out += "limits:   \(p.limits.map(limitText).joined(separator: " "))\n"
        out += "sandbox:  \(sandboxText(p, plan))\n"
        out += "capabilities: \(capabilitiesText(p))\n"
        out += containmentText(plan.containment, required: p.sandbox.require.map(\.rawValue))
        out += "restart:  policy \(r.policy.rawValue), delay \(r.delay), max_delay \(r.maxDelay), burst \(r.burst) in \(r.interval), "
            + "stop \(Signals.name(of: r.stopSignal)) then SIGKILL after \(r.stopTimeout), reload \(r.reload.rawValue)\n"
        out += "output:   redact \(p.output.redact ? "on" : "off")\n"
        out += "launch:   \(launchText(plan))\n"
        for f in findings { out += "warning:  \(f.description); \(f.remedy)\n" }
        for w in shortValueWarnings(plan) { out += "warning:  \(w); \(RedactionPatterns.shortValueHint)\n" }
        for w in plan.warnings { out += "warning:  \(w.message)" + (w.hint.map { "; \($0)" } ?? "") + "\n" }
        out += "check: ok\n"
        return out
    }

    /// Which launch path `run` takes: exec in place, or a supervisor and why.
    static func launchText(_ plan: LaunchPlan) -> String {
        let reasons = plan.supervisorReasons
        return reasons.isEmpty ? "exec in place (no supervisor process)"
            : "supervised: " + reasons.joined(separator: "; ")
    }

    static func state(_ s: Containment.Status) -> String {
        s.active ? "active" : s.missing != nil ? "missing" : "off"
    }

    /// `containment:` then one line per feature: its state, what it does or why it is missing.
    /// Feature lines are indented by one space (two-space lines are the environment's).
    static func containmentText(_ c: Containment, required: [String]) -> String {
        var out = "containment: " + (c.landlockABI.map { "Landlock ABI \($0)" } ?? "no Landlock") + "\n"
        for s in c.statuses {
            let name = s.feature.rawValue + (required.contains(s.feature.rawValue) ? " (required)" : "")
            out += " \(name.padding(21))\(state(s).padding(8))\(s.detail)\(s.missing.map { " (\($0))" } ?? "")\n"
            if s.feature == .filesystem && c.filesystemMode != "off" {
                for h in c.hiddenPaths { out += " - hidden: \(h)\n" }
            }
        }
        for caution in c.cautions { out += " caution: \(caution)\n" }
        return out
    }

    static func containmentJSON(_ c: Containment) -> String {
        func ports(_ p: [UInt16]?) -> String { p.map { JSONText.array($0.map { String($0) }) } ?? "null" }
        return JSONText.object(c.statuses.map { s in
            var f: [(String, String)] = [("active", s.active ? "true" : "false"), ("detail", JSONText.string(s.detail))]
            if let m = s.missing { f.append(("missing", JSONText.string(m))) }
            if let h = s.hint { f.append(("hint", JSONText.string(h))) }
            switch s.feature {
            case .filesystem:
                f += [("mode", JSONText.string(c.filesystemMode)), ("hidden", JSONText.array(c.hiddenPaths.map(JSONText.string)))]
            case .network: f += [("connect", ports(c.connectPorts)), ("bind", ports(c.bindPorts))]
            default: break
            }
            return (s.feature.rawValue, JSONText.object(f))
        } + [("landlock_abi", c.landlockABI.map { String($0) } ?? "null"),
             ("cautions", JSONText.array(c.cautions.map(JSONText.string)))])
    }

    static func json(_ plan: LaunchPlan, _ findings: [KeyFinding]) -> String {
        let p = plan.profile, r = p.restart
        let vars = plan.variables.map { v -> String in
            var f = [("name", JSONText.string(v.name))]
            switch v.source {
            case .inherited: f.append(("source", JSONText.string("inherited")))
            case .set: f.append(("source", JSONText.string("set")))
            case .secret(let s): f += [("source", JSONText.string("secret")), ("secret", JSONText.string(s)), ("as", JSONText.string("env"))]
            case .secretFile(let s, let fd): f += [("source", JSONText.string("secret")), ("secret", JSONText.string(s)), ("as", JSONText.string("file")), ("fd", String(fd))]
            case .secretFd(let s, let fd): f += [("source", JSONText.string("secret")), ("secret", JSONText.string(s)), ("as", JSONText.string("fd")), ("fd", String(fd))]
            case .reloadableFile(let s, let path): f += [("source", JSONText.string("secret")), ("secret", JSONText.string(s)), ("as", JSONText.string("file")), ("path", JSONText.string(path)), ("reloadable", "true")]
            case .template(let source, let secrets, let fd): f += [("source", JSONText.string("template")), ("template", JSONText.string(source)), ("secrets", JSONText.array(secrets.map(JSONText.string))), ("as", JSONText.string("file")), ("fd", String(fd))]
            }
            return JSONText.object(f)
        }
        return JSONText.object([
            ("profile", JSONText.string(p.name)), ("path", JSONText.string(p.path)),
            ("extends", JSONText.array(p.layers.dropFirst().map(JSONText.string))),
            ("command", JSONText.array(([plan.request.executable] + plan.request.arguments.dropFirst()).map(JSONText.string))),
            ("workdir", p.workdir.map(JSONText.string) ?? "null"),
            ("user", p.user.map(JSONText.string) ?? "null"),
            ("group", p.group.map(JSONText.string) ?? "null"),
            ("credentials", plan.request.credentials.map { c in   // what the child switches to; null: our ids
                JSONText.object([("uid", String(c.uid)), ("gid", String(c.gid)),
                                 ("groups", "[" + c.groups.map { String($0) }.joined(separator: ",") + "]")])
            } ?? "null"),
            ("environment", "[" + vars.joined(separator: ",") + "]"),
            ("templates", "[" + p.templates.map { t in
                JSONText.object([("name", JSONText.string(t.variable)), ("source", JSONText.string(t.source)),
                                 ("format", JSONText.string(t.format.rawValue)),
                                 ("secrets", JSONText.array(t.references.map(JSONText.string))),
                                 ("path", JSONText.string(templatePath(plan, t)))])
            }.joined(separator: ",") + "]"),
            ("limits", JSONText.array(p.limits.map { JSONText.string(limitText($0)) })),
            ("sandbox", JSONText.object([
                ("seccomp", JSONText.string(sandboxText(p, plan))),
                ("bpf_instructions", plan.request.seccomp.map { String($0.instructionCount) } ?? "0"),
                ("action", JSONText.string(p.sandbox.action.rawValue)),
                ("no_new_privileges", p.sandbox.noNewPrivileges ? "true" : "false"),
                ("no_exec", p.sandbox.noExec ? "true" : "false"),
                ("capabilities", JSONText.array(p.sandbox.capabilities.map { JSONText.string($0.name) })),
                ("require", JSONText.array(p.sandbox.require.map { JSONText.string($0.rawValue) }))])),
            ("containment", containmentJSON(plan.containment)),
            ("restart", JSONText.object([
                ("policy", JSONText.string(r.policy.rawValue)), ("delay_ms", String(r.delay.milliseconds)),
                ("max_delay_ms", String(r.maxDelay.milliseconds)), ("burst", String(r.burst)),
                ("interval_ms", String(r.interval.milliseconds)), ("stop_signal", JSONText.string(Signals.name(of: r.stopSignal))),
                ("stop_timeout_ms", String(r.stopTimeout.milliseconds)), ("reload", JSONText.string(r.reload.rawValue))])),
            ("redact", p.output.redact ? "true" : "false"),
            ("launch", JSONText.object([
                ("path", JSONText.string(plan.supervisorReasons.isEmpty ? "exec" : "supervised")),
                ("supervisor_needed_for", JSONText.array(plan.supervisorReasons.map(JSONText.string)))])),
            ("warnings", JSONText.array((findings.map(\.description) + shortValueWarnings(plan) + plan.warnings.map(\.message))
                .map(JSONText.string))),
        ]) + "\n"
    }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
