/// Which protections are in force for a launch, for `check`, for the warnings
/// printed at launch and for `[sandbox] require`.
public struct Containment: Sendable {
    /// A protection: Landlock filesystem rules, TCP port rules, signal and
    /// abstract Unix socket scoping, and the process-tree containment (PID namespace).
    public enum Feature: String, Sendable, CaseIterable {
        /// Raw values as `[sandbox] require` spells them, like `SandboxSpec.Protection`'s; `tree` is the PID namespace.
        case filesystem, network, signals, abstractSockets = "abstract-sockets", tree
    }

    /// One feature's state.
    public struct Status: Sendable {
        /// Which protection this status is about.
        public var feature: Feature
        /// In force for this launch.
        public var active: Bool
        /// For people: "hide-keys: 6 paths hidden", "tcp connect 443; bind none", "off".
        public var detail: String
        /// Why it is not active although the profile asks for it; nil when it is
        /// active or when the profile turned it off.
        public var missing: String?
        /// What to do about `missing`.
        public var hint: String?

        /// Memberwise; leave `missing` and `hint` nil for a feature that is active or turned off.
        public init(feature: Feature, active: Bool, detail: String, missing: String? = nil, hint: String? = nil) {
            self.feature = feature
            self.active = active
            self.detail = detail
            self.missing = missing
            self.hint = hint
        }
    }

    /// One per feature, in `Feature` order (features not yet known are absent).
    public var statuses: [Status]
    /// The canonical paths the bot can't open (hide-keys; also listed for allowlist).
    public var hiddenPaths: [String]
    /// TCP ports the bot may connect to; nil: unrestricted.
    public var connectPorts: [UInt16]?
    /// TCP ports the bot may bind; nil: unrestricted.
    public var bindPorts: [UInt16]?
    /// The filesystem mode the profile asked for ("hide-keys", "allowlist", "off").
    public var filesystemMode: String = "off"
    /// The running kernel's Landlock ABI version; nil when it has no usable Landlock.
    public var landlockABI: Int32?
    /// What the protections above don't cover for this profile, for `check`
    /// (e.g. a bot that runs as root).
    public var cautions: [String] = []

    /// Memberwise; `filesystemMode` starts as "off", `landlockABI` as nil, `cautions` empty.
    public init(statuses: [Status] = [], hiddenPaths: [String] = [], connectPorts: [UInt16]? = nil, bindPorts: [UInt16]? = nil) {
        self.statuses = statuses
        self.hiddenPaths = hiddenPaths
        self.connectPorts = connectPorts
        self.bindPorts = bindPorts
    }

    /// The status of `feature`; nil when it is not in `statuses` (not yet known).
    public func status(_ feature: Feature) -> Status? { statuses.first { $0.feature == feature } }

    /// Adds or replaces the status of `status.feature`.
    public mutating func set(_ status: Status) {
        if let i = statuses.firstIndex(where: { $0.feature == status.feature }) {
            statuses[i] = status
        } else {
            statuses.append(status)
        }
    }

    static func noun(_ f: Feature) -> String {
        switch f {
        case .filesystem: "filesystem"
        case .network: "network"
        case .signals: "signal"
        case .abstractSockets: "abstract socket"
        case .tree: "process-tree"
        }
    }

    /// The warnings for protections the profile asks for but this system lacks:
    /// one line (and one hint) per distinct reason, naming every feature it affects,
    /// e.g. "filesystem and signal containment are off: this kernel has no Landlock (…)".
    /// Features in `required` are left out: `enforce` turns them into errors.
    public func warnings(required: [Feature] = []) -> [(message: String, hint: String?)] {
        var groups: [(missing: String, features: [Feature], hint: String?)] = []
        for s in statuses where !s.active && !required.contains(s.feature) {
            guard let missing = s.missing else { continue }
            if let i = groups.firstIndex(where: { $0.missing == missing }) {
                groups[i].features.append(s.feature)
            } else {
                groups.append((missing, [s.feature], s.hint))
            }
        }
        return groups.map { g in (Self.offSentence(g.features, g.missing), g.hint) }
    }

    /// The warning for one feature that is not active although asked for, as
    /// `warnings` words it; nil when it is active or was turned off.
    public static func warning(_ s: Status) -> (message: String, hint: String?)? {
        guard !s.active, let missing = s.missing else { return nil }
        return (offSentence([s.feature], missing), s.hint)
    }

    /// "filesystem and network containment are off: WHY".
    static func offSentence(_ features: [Feature], _ missing: String) -> String {
        let names = features.map(Self.noun)
        let list = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " and " + names.last!
        return "\(list) containment \(names.count == 1 ? "is" : "are") off: \(missing)"
    }

    /// `[sandbox] require`: every required feature must be active.
    /// - Throws: `PlanError` (exit 125) naming the first required feature that is not,
    ///   and why; nothing has been started.
    public func enforce(required: [Feature]) throws(PlanError) {
        for feature in required {
            let s = status(feature)
            guard s?.active != true else { continue }
            let why = s?.missing ?? s?.detail ?? "not available"
            throw PlanError("\(Self.noun(feature)) containment is required by the profile but is not active: \(why)",
                            hints: (s?.hint.map { [$0] } ?? []) + ["remove \"\(feature.rawValue)\" from [sandbox] require to launch without it"])
        }
    }
}
