# bash completion for svirt-hook(1)                          -*- shell-script -*-
# Installed as $(DATADIR)/bash-completion/completions/svirt-hook, which
# bash-completion loads the first time `svirt-hook` is completed. Needs
# nothing from bash-completion itself, so it also works when sourced alone.
# The lists follow `svirt-hook --help` and the commands' usage lines; a test
# (Tests/IntegrationTests/CompletionTests.swift) holds them to the binary.

_svirt_hook_flags='--selinux --contexts --stage --bundle --require-label --state-dir
    --no-reserve --relabel-root --relabel-source --full-relabel --privileged-type --help --version'

_svirt_hook() {
    local cur prev words cword prefix=
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=${words[cword]}
    prev=
    [ "$cword" -gt 0 ] && prev=${words[cword-1]}
    # COMP_WORDBREAKS usually holds '=': `--selinux=o` arrives as
    # `--selinux` `=` `o`, or `--selinux` `=` while nothing follows it yet.
    if [ "$cur" = "=" ]; then
        prev=${words[cword-1]}
        cur=
    elif [ "$prev" = "=" ] && [ "$cword" -gt 1 ]; then
        prev=${words[cword-2]}
    elif [[ $cur == --*=* ]]; then
        # '=' is no word break here: the replies replace the whole word.
        prev=${cur%%=*}
        prefix=$prev=
        cur=${cur#*=}
    fi

    # The subcommand, if any, is the first word after the program.
    local command=
    [ "$cword" -gt 1 ] && command=${words[1]}
    case "$command" in
        list|release|gc|reserve|doctor|relabel|runtime) ;;
        *) command= ;;
    esac

    local values=
    case "$prev" in
        --selinux) values='auto on off' ;;
        --stage) values='precreate prestart createRuntime createContainer startContainer poststart poststop' ;;
        --relabel-root) values='z Z' ;;
        --contexts) COMPREPLY=($(compgen -P "$prefix" -f -- "$cur")); return 0 ;;
        # reserve --root PATH (a container root), doctor --root DIR (a host).
        --bundle|--state-dir|--root) COMPREPLY=($(compgen -P "$prefix" -d -- "$cur")); return 0 ;;
        --runtime) COMPREPLY=($(compgen -P "$prefix" -c -- "$cur")); return 0 ;;
        --hook-flag)
            # The wrapper refuses --help, --version, --bundle and --stage here.
            values='--selinux --contexts --require-label --state-dir --no-reserve
                --relabel-root --relabel-source --full-relabel --privileged-type' ;;
        # --relabel-source DIR=z|Z: a directory, then the mode.
        --relabel-source)
            if [[ $cur == *=* ]]; then
                COMPREPLY=($(compgen -P "$prefix${cur%%=*}=" -W 'z Z' -- "${cur#*=}"))
            else
                COMPREPLY=($(compgen -P "$prefix" -d -- "$cur"))
            fi
            return 0 ;;
        --privileged-type|--level|--range|--label) return 0 ;;
    esac
    if [ -n "$values" ]; then
        COMPREPLY=($(compgen -P "$prefix" -W "$values" -- "$cur"))
        return 0
    fi

    case "$command" in
        list|gc) values='--state-dir --json --help' ;;
        release) values='--state-dir --json --help' ;;
        reserve) values='--root --level --range --state-dir --json --help' ;;
        doctor) values='--json --state-dir --contexts --root --help' ;;
        relabel)
            if [[ $cur == -* ]]; then
                values='--shared --level --label --contexts --full-relabel --help'
            else
                COMPREPLY=($(compgen -d -- "$cur")); return 0
            fi ;;
        runtime)
            # Once the real runtime's arguments start, they are runc's.
            local i
            for ((i = 2; i < cword; i++)); do
                case "${words[i]}" in
                    --runtime|--hook-flag) ((i++)) ;;
                    --runtime=*|--hook-flag=*|=) ;;
                    *) return 0 ;;
                esac
            done
            values='--runtime --hook-flag --' ;;
        *)
            if [ "$cword" -eq 1 ] && [[ $cur != -* ]]; then
                values='list release gc reserve doctor relabel runtime'
            else
                values=$_svirt_hook_flags
            fi ;;
    esac
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
    return 0
}
complete -F _svirt_hook svirt-hook
