#!/bin/sh
# The benchmark's comparison server: configures this machine's Postfix (Debian package
# `postfix`, installed with "No configuration") to accept mail for example.test on
# 127.0.0.1:${1:-2526} and deliver it to one Maildir through the virtual agent, then
# starts it. Run as root on a throwaway machine or container: it rewrites /etc/postfix.
#   smtp-bench --compare postfix=127.0.0.1:2526
set -eu
PORT=${1:-2526}
[ -f /etc/postfix/main.cf ] || cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
postconf -e \
  "myhostname = postfix.bench.test" \
  "mydestination =" \
  "inet_interfaces = loopback-only" \
  "inet_protocols = ipv4" \
  "mynetworks = 127.0.0.0/8" \
  "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
  "virtual_mailbox_domains = example.test" \
  "virtual_mailbox_base = /var/mail/vhosts" \
  "virtual_mailbox_maps = static:bench/" \
  "virtual_uid_maps = static:5000" \
  "virtual_gid_maps = static:5000" \
  "maillog_file = /var/log/postfix.log" \
  "alias_maps =" \
  "alias_database =" \
  "compatibility_level = 3.6"
postconf -M "${PORT}/inet=${PORT} inet n - n - - smtpd"
mkdir -p /var/mail/vhosts
chown -R 5000:5000 /var/mail/vhosts
postfix check
postfix status >/dev/null 2>&1 && postfix reload || postfix start
