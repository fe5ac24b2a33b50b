import CVersion

/// `svirt-hook --version`: "svirt-hook 0.9.0", plus "(git 3cb7d12)" when
/// make built it from a git checkout (Sources/CVersion/version.c).
enum Version {
    static var line: String {
        let version = String(cString: svirt_version())
        let commit = String(cString: svirt_git_commit())
        return commit.isEmpty ? "svirt-hook \(version)" : "svirt-hook \(version) (git \(commit))"
    }
}
