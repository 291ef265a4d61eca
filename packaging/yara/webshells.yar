// Web shells: server-side scripts that run what a request tells them to.
rule Webshell_PHP_Request_Exec : webshell
{
    meta:
        description = "PHP script passing request input to eval/system/exec"
    strings:
        $php = "<?" 
        $exec = /(eval|assert|system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec)\s*\(\s*(base64_decode\s*\(\s*|stripslashes\s*\(\s*)?\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[/ nocase
    condition:
        $php and $exec and filesize < 1MB
}

rule Webshell_PHP_Obfuscated_Eval : webshell
{
    meta:
        description = "PHP script evaluating a compressed or encoded payload"
    strings:
        $php = "<?"
        $eval = /(eval|assert)\s*\(\s*(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode)\s*\(\s*(gzinflate|gzuncompress|str_rot13|base64_decode|strrev)?\s*\(?\s*['"$]/ nocase
    condition:
        $php and $eval and filesize < 2MB
}

rule Webshell_JSP_Request_Exec : webshell
{
    meta:
        description = "JSP page running a command taken from the request"
    strings:
        $exec = /Runtime\.getRuntime\(\)\.exec\(\s*request\.getParameter\(/
        $pb = /new\s+ProcessBuilder\([^)]{0,80}request\.getParameter\(/
    condition:
        any of them and filesize < 1MB
}

rule Webshell_ASPX_Request_Exec : webshell
{
    meta:
        description = "ASP.NET page starting cmd.exe/powershell with request input"
    strings:
        $start = /Process\.Start\s*\(/ nocase
        $shell = /(cmd\.exe|powershell)/ nocase
        $req = /Request(\.Form|\.QueryString)?\s*\[/ nocase
    condition:
        all of them and filesize < 1MB
}
