c = get_config()  # noqa
c.ServerApp.ip = '127.0.0.1'
c.ServerApp.allow_origin = ''
c.ServerApp.disable_check_xsrf = False
