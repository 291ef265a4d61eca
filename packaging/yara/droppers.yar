// Botnet droppers: the shell scripts that fetch bot binaries for every CPU and clear the way.
rule Linux_Dropper_Multiarch : dropper botnet
{
    meta:
        description = "Shell script fetching and running a bot binary for several CPU architectures"
    strings:
        $dl = /(wget|curl|tftp|ftpget)[^\n]{0,160}[0-9a-z.:\/-]+\/[^\s\/]*(x86|arm[4-7]?|mips|mpsl|mipsel|ppc|m68k|sh4|spc|i686|aarch64)\b/ nocase
        $chmod = /chmod\s+(\+x|777|755|0777)/
        $run = /\.\/[A-Za-z0-9._-]+/
    condition:
        filesize < 200KB and #dl >= 3 and $chmod and $run
}

rule Linux_Dropper_Clear_The_Way : dropper
{
    meta:
        description = "Script removing competitors and defences: kills miners, unlocks files, wipes crontabs and history"
    strings:
        $k1 = /(pkill|killall)\s+(-9\s+)?(xmrig|kinsing|kdevtmpfsi|minerd|cryptonight)/ nocase
        $k2 = /chattr\s+-[ia]+\s+\S/
        $k3 = /crontab\s+-r\b/
        $k4 = /history\s+-c\b/
        $k5 = /(ufw\s+disable|iptables\s+-F|setenforce\s+0|systemctl\s+stop\s+(aliyun|apparmor))/
        $k6 = /echo\s+[^\n]{0,60}>\s*\/etc\/ld\.so\.preload/
        $k7 = /(curl|wget)[^\n]{0,200}\|\s*(ba)?sh/
    condition:
        filesize < 500KB and 4 of them
}

rule Linux_Bot_Mirai_Strings : botnet
{
    meta:
        description = "Mirai-family bot program"
    strings:
        $m1 = "/bin/busybox" ascii
        $m2 = "TSource Engine Query" ascii
        $m3 = "/proc/net/tcp" ascii
        $m4 = "/dev/watchdog" ascii
        $m5 = "POST /cdn-cgi/" ascii
        $m6 = "LCOGQGPTGP" ascii
        $m7 = "attack_" ascii
    condition:
        uint32(0) == 0x464c457f and filesize < 2MB and 4 of them
}
