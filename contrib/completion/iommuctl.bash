# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for iommuctl(1)
#
# Works with or without the bash-completion package. The command line is
# re-read from COMP_LINE because bash splits words at "=" and ":", which would
# tear "--bus-address=unix:path=…" apart.

# The run numbers the daemon knows, asked on the same bus as the command line.
__iommuctl_runs() {
	local -a bus=()
	local w
	for w in "$@"; do
		case $w in
			--user|--bus-address=*) bus+=("$w") ;;
		esac
	done
	iommuctl "${bus[@]}" --no-legend --no-pager runs 2>/dev/null | while read -r id _; do
		printf '%s\n' "$id"
	done
}

# The device ids the daemon offers (second column of "iommuctl devices").
__iommuctl_devices() {
	local -a bus=()
	local w
	for w in "$@"; do
		case $w in
			--user|--bus-address=*) bus+=("$w") ;;
		esac
	done
	iommuctl "${bus[@]}" --no-legend --no-pager devices 2>/dev/null | while read -r _ id _; do
		printf '%s\n' "$id"
	done
}

_iommuctl() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local line=${COMP_LINE:0:COMP_POINT}
	local -a words
	local word verb='' expect_arg=0 i

	local verbs='status backends devices caps runs show faults run start stop metrics help'
	local opts='-h --help --version --json --json= --no-pager --no-legend --user
		--bus-address= --set= -q --quiet --timeout= --max= --follow --source=
		--openmetrics --textfile='
	# Options whose value may also come as the next word.
	local opts_arg='--bus-address --set --timeout --max --source --textfile'

	# Readline replaces only the text after a word break character.
	[[ $cur == [=:] ]] && cur=''

	read -r -a words <<< "$line"
	# A trailing blank means a new, empty word is being completed.
	[[ $line == *[[:space:]] ]] && words+=('')
	word=${words[${#words[@]}-1]}

	for (( i = 1; i < ${#words[@]} - 1; i++ )); do
		if (( expect_arg )); then
			expect_arg=0
			continue
		fi
		case ${words[i]} in
			--) ;;
			-*)
				[[ " $opts_arg " == *" ${words[i]} "* ]] && expect_arg=1
				;;
			*)
				verb=${words[i]}
				break
				;;
		esac
	done

	# The value of an option given as the next word.
	(( expect_arg )) && return 0

	case $word in
		--json=*)
			mapfile -t COMPREPLY < <(compgen -W 'short pretty off' -- "${word#--json=}")
			return 0
			;;
		--source=*)
			mapfile -t COMPREPLY < <(compgen -W 'model dma-verify kmsg iommufd tracefs' -- "${word#--source=}")
			return 0
			;;
		--textfile=*)
			mapfile -t COMPREPLY < <(compgen -d -- "${word#--textfile=}")
			return 0
			;;
		--bus-address=*|--set=*|--timeout=*|--max=*)
			return 0
			;;
		-*)
			mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$word")
			# "--max=" wants its value right after the "=".
			(( ${#COMPREPLY[@]} == 1 )) && [[ ${COMPREPLY[0]} == *= ]] &&
				compopt -o nospace 2>/dev/null
			return 0
			;;
	esac

	# Each verb takes at most one argument; count the ones already there.
	local nargs=0 seen=0
	for (( i = 1; i < ${#words[@]} - 1; i++ )); do
		[[ ${words[i]} == -* ]] && continue
		(( seen )) && nargs=$((nargs + 1))
		[[ ${words[i]} == "$verb" ]] && seen=1
	done

	if [[ -z $verb ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
		return 0
	fi
	(( nargs > 0 )) && return 0

	case $verb in
		run|start)
			compopt -o filenames 2>/dev/null
			# Scenario files, and directories to find them in; names may hold blanks.
			mapfile -t COMPREPLY < <(compgen -f -X '!*.conf' -- "$cur"; compgen -d -- "$cur")
			[[ -z $cur ]] && COMPREPLY+=('-')
			;;
		show|faults|stop)
			mapfile -t COMPREPLY < <(compgen -W "$(__iommuctl_runs "${words[@]}")" -- "$cur")
			;;
		caps)
			mapfile -t COMPREPLY < <(compgen -W "$(__iommuctl_devices "${words[@]}")" -- "$cur")
			;;
	esac
	return 0
}

complete -F _iommuctl iommuctl
