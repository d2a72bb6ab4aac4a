server {
    listen ${port};
    server_name ${server_name};
    # $${literal} and $remote_addr stay as they are
}
