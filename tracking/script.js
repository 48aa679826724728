!function(w,d){var s=d.currentScript,l=w.location,h=w.history,N=Date.now,A=function(k){return s.getAttribute("data-"+k)},H=function(k){return s.hasAttribute("data-"+k)},E=function(o,e,f,x){o.addEventListener(e,f,x)},
u=A("api")||new URL("/api/event",s.src),
off=!H("allow-local")&&(/^(localhost|127\.|\[::1\])/.test(l.hostname)||l.protocol=="file:"||w.navigator.webdriver),
last,sd=0,ms=0,t=N();
function send(n,o,c){o=o||{};if(off)return c&&c();
var b={n:n,u:l.href,d:A("domain"),r:d.referrer,w:w.innerWidth,h:H("hash")};
o.props&&(b.p=o.props);o.revenue&&(b.$=o.revenue);o.interactive===!1&&(b.i=!1);n=="engagement"&&(b.sd=sd,b.e=ms);
fetch(u,{method:"POST",body:JSON.stringify(b),keepalive:!0}).then(c,c)}
function tick(){var v=(w.scrollY+w.innerHeight)/d.documentElement.scrollHeight*100|0;v>sd&&(sd=v)}
function eng(){if(last){d.hidden||(ms+=N()-t);t=N();ms>0&&send("engagement");ms=0}}
function page(){if(last!=l.href){eng();last=l.href;sd=0;tick();send("pageview")}}
var p=h.pushState;h.pushState=function(){eng();p.apply(h,arguments);page()};
E(w,"popstate",page);H("hash")&&E(w,"hashchange",page);E(w,"scroll",tick,{passive:!0});
E(d,"visibilitychange",function(){d.hidden?eng():t=N()});
E(d,"click",function(e){var a=e.target.closest&&e.target.closest("a[href]");if(a){
H("outbound")&&a.host!=l.host&&/^http/.test(a.protocol)&&send("Outbound Link: Click",{props:{url:a.href}});
H("downloads")&&/\.(pdf|zip|docx?|xlsx?|pptx?|csv|txt|dmg|exe|msi|apk|gz|7z|rar|mp[34]|mov|epub|iso)$/i.test(a.pathname)&&send("File Download",{props:{url:a.href}})}},!0);
var q=w.mallard&&w.mallard.q||[];w.mallard=function(n,o){o=o||{};send(n,o,o.callback)};
page();for(var i=0;i<q.length;i++)w.mallard.apply(w,q[i])}(window,document)
