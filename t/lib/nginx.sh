# t/lib/nginx.sh: an HTTPS ingress for a test: Debian's nginx on a free
# loopback port, verifying client certificates with the iota chain, with
# every file it writes (pid, logs, temporary files) in one directory.
#
# Sourced after tap.sh, before the test prints anything (a machine without
# nginx skips the whole test: "1..0 # SKIP nginx not installed"):
#     . "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
#     . "$T_SRCDIR/lib/nginx.sh"
#
#     nginx_setup DIR CA-BUNDLE CERT KEY [CRLS]
#                               DIR (created) gets nginx.conf at start;
#                               the server presents CERT (leaf, then the
#                               intermediate) and KEY; clients must present
#                               a certificate that CA-BUNDLE (root +
#                               intermediate) verifies (ssl_verify_client
#                               on, ssl_verify_depth 2); TLS 1.2 and 1.3.
#                               CRLS (PEM): nginx then wants a CRL for
#                               every CA of the chain, the intermediate's
#                               and the root's (`iotactl ca crl [--root]`)
#                               NGINX_OCSP=leaf (set before nginx_start):
#                               nginx asks the OCSP responder named in each
#                               client certificate (ssl_ocsp leaf, no cache)
#     nginx_start               starts it in the foreground (our child),
#                               waits for its pid file (written once its
#                               sockets listen), 10 s at most; a port lost
#                               to another process: new ports, twice at most
#     nginx_stop                SIGTERM, waits (10 s at most), SIGKILL
#     nginx_check FILE          `nginx -t` on FILE included in the http
#                               block of a private main configuration;
#                               sets RC and OUT (what nginx said)
# Exported once started: NGINX_PORT, NGINX_URL (https://127.0.0.1:PORT).
#
# What it serves (text/plain):
#     /whoami     "subject=<$ssl_client_s_dn>" and "verify=<$ssl_client_verify>",
#                 answered by the ingress itself
#     /upstream/  proxied to a plain HTTP upstream on loopback (a second
#                 server of the same nginx) that answers with the
#                 X-Client-Subject and X-Client-Verify headers it received:
#                 the ingress sets both, whatever the client sent
# A request without a certificate, or with one the chain does not verify,
# is answered 400 by nginx itself (the TLS handshake completes).
# nginx is always stopped when the test exits (tap.sh's EXIT trap).

NGINX=${NGINX:-$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)}
if [ ! -x "$NGINX" ]; then
	echo "1..0 # SKIP nginx not installed"
	exit 0
fi
. "$T_SRCDIR/lib/ports.sh"

NGINX_DIR=
NGINX_PID=

# _nginx_alive: the master runs (a zombie not yet reaped does not count).
_nginx_alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$NGINX_PID/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

nginx_setup() {
	local d=$1
	NGINX_CACERT=$2 NGINX_CERT=$3 NGINX_KEY=$4 NGINX_CRL=${5:-}
	[ -n "$NGINX_KEY" ] || bail_out "usage: nginx_setup DIR CA-BUNDLE CERT KEY"
	mkdir -p "$d/logs" "$d/temp" || bail_out "mkdir $d"
	NGINX_DIR=$(cd "$d" && pwd)
	at_exit nginx_stop
}

# _nginx_write_conf: nginx.conf for the ports chosen.  As root, the
# workers run as root too (the files they touch are under T_TMP, which
# only its owner may enter); otherwise `user` would only draw a warning.
_nginx_write_conf() {
	local d=$NGINX_DIR user='' crl=''
	[ "$(id -u)" = 0 ] && user="user $(id -un) $(id -gn);"
	[ -n "$NGINX_CRL" ] && crl="ssl_crl $NGINX_CRL;"
	[ -n "${NGINX_OCSP:-}" ] && crl="$crl ssl_ocsp $NGINX_OCSP;"
	cat >"$d/nginx.conf" <<-EOF
	$user
	daemon off;
	worker_processes 1;
	pid $d/nginx.pid;
	error_log $d/logs/error.log info;
	events { worker_connections 64; }
	http {
	    access_log $d/logs/access.log;
	    client_body_temp_path $d/temp/body;
	    proxy_temp_path $d/temp/proxy;
	    fastcgi_temp_path $d/temp/fastcgi;
	    uwsgi_temp_path $d/temp/uwsgi;
	    scgi_temp_path $d/temp/scgi;
	    default_type text/plain;
	    server {
	        listen 127.0.0.1:$NGINX_PORT ssl;
	        server_name localhost;
	        ssl_certificate $NGINX_CERT;
	        ssl_certificate_key $NGINX_KEY;
	        ssl_protocols TLSv1.2 TLSv1.3;
	        ssl_client_certificate $NGINX_CACERT;
	        ssl_verify_client on;
	        ssl_verify_depth 2;
	        $crl
	        location = /whoami {
	            return 200 "subject=<\$ssl_client_s_dn>\nverify=<\$ssl_client_verify>\n";
	        }
	        location /upstream/ {
	            proxy_set_header X-Client-Subject \$ssl_client_s_dn;
	            proxy_set_header X-Client-Verify \$ssl_client_verify;
	            proxy_pass http://127.0.0.1:$NGINX_UPSTREAM_PORT/;
	        }
	    }
	    server {
	        listen 127.0.0.1:$NGINX_UPSTREAM_PORT;
	        location / {
	            return 200 "upstream saw subject=<\$http_x_client_subject>\nupstream saw verify=<\$http_x_client_verify>\n";
	        }
	    }
	}
	EOF
}

# _nginx_launch: one start; 0 when listening, 2 when a port was taken,
# 1 otherwise.
_nginx_launch() {
	local i
	_nginx_write_conf
	rm -f "$NGINX_DIR/nginx.pid"
	# Never the test's stdout: the TAP driver would wait for it.
	"$NGINX" -p "$NGINX_DIR/" -e "$NGINX_DIR/logs/error.log" \
	    -c "$NGINX_DIR/nginx.conf" </dev/null \
	    >>"$NGINX_DIR/logs/nginx.out" 2>&1 &
	NGINX_PID=$!
	for ((i = 0; i < 500; i++)); do		# 10 s at most
		[ -s "$NGINX_DIR/nginx.pid" ] && return 0
		_nginx_alive || break
		sleep 0.02
	done
	nginx_stop
	grep -qs 'Address already in use' "$NGINX_DIR/logs/error.log" && return 2
	return 1
}

nginx_start() {
	local try rc
	[ -z "$NGINX_PID" ] || { diag "nginx_start: already running"; return 1; }
	for ((try = 0; try < 3; try++)); do
		_nginx_ports || return 1
		_nginx_launch
		rc=$?
		[ "$rc" = 2 ] || break
		mv "$NGINX_DIR/logs/error.log" "$NGINX_DIR/logs/error.log.$try"
	done
	if [ "$rc" != 0 ]; then
		diag "nginx did not start:" \
		    "$(tail -n 5 "$NGINX_DIR/logs/error.log" "$NGINX_DIR/logs/nginx.out")"
		return 1
	fi
}

_nginx_ports() {
	local b
	b=$(port_block 2) || return 1
	NGINX_PORT=$b
	NGINX_UPSTREAM_PORT=$((b + 1))
	NGINX_URL=https://127.0.0.1:$NGINX_PORT
	export NGINX_PORT NGINX_URL
}

nginx_stop() {
	local i
	[ -n "$NGINX_PID" ] || return 0
	kill -TERM "$NGINX_PID" 2>/dev/null
	for ((i = 0; i < 500; i++)); do		# 10 s at most
		_nginx_alive || break
		sleep 0.02
	done
	_nginx_alive && diag "nginx did not stop within 10 s of SIGTERM"
	kill -KILL "$NGINX_PID" 2>/dev/null
	wait "$NGINX_PID" 2>/dev/null
	NGINX_PID=
	return 0
}

nginx_check() {
	local d=$NGINX_DIR/check user=''
	mkdir -p "$d/temp" || return 1
	[ "$(id -u)" = 0 ] && user="user $(id -un) $(id -gn);"
	cat >"$d/nginx.conf" <<-EOF
	$user
	pid $d/nginx.pid;
	error_log $d/error.log;
	events { worker_connections 64; }
	http {
	    access_log off;
	    client_body_temp_path $d/temp/body;
	    proxy_temp_path $d/temp/proxy;
	    fastcgi_temp_path $d/temp/fastcgi;
	    uwsgi_temp_path $d/temp/uwsgi;
	    scgi_temp_path $d/temp/scgi;
	    include $1;
	}
	EOF
	OUT=$("$NGINX" -t -p "$d/" -e "$d/error.log" -c "$d/nginx.conf" 2>&1 </dev/null)
	RC=$?
}
